package edge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// TestParsed: the parse function's error is the reply's, the use case
// runs only on a parsed request, and its result is the reply body.
func TestParsed(t *testing.T) {
	bad := events.Errorf(events.CodeInvalidArgument, "id: required")
	parse := func(b []byte) (string, error) {
		if len(b) == 0 {
			return "", bad
		}
		return string(b), nil
	}
	calls := 0
	use := func(_ context.Context, s string) (int, error) {
		calls++
		if s == "fail" {
			return 0, errors.New("boom")
		}
		return len(s), nil
	}
	h := edge.Parsed(parse, use)
	if _, err := h(context.Background(), edge.Request{}); !errors.Is(err, bad) || calls != 0 {
		t.Fatalf("want the parse error and no call, have %v after %d calls", err, calls)
	}
	if _, err := h(context.Background(), edge.Request{Data: []byte("fail")}); err == nil || err.Error() != "boom" {
		t.Fatalf("want the use case's error, have %v", err)
	}
	r, err := h(context.Background(), edge.Request{Data: []byte("four")})
	if err != nil || r.Body != 4 {
		t.Fatalf("want body 4, have %v, %v", r.Body, err)
	}
}
