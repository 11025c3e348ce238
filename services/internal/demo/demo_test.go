package demo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// TestStepBound: a step that does not happen ends the demo with ErrStep
// after the bound; a stack that stopped (ctx ended with its error as the
// cause) ends it at once with that error.
func TestStepBound(t *testing.T) {
	boom := errors.New("auditsink: boom")
	for _, tc := range []struct {
		name    string
		stopped error
		cond    func() error
		wantErr error
		wantMsg string
	}{
		{"holds at once", nil, func() error { return nil }, nil, ""},
		{"never holds", nil, func() error { return errors.New("0 of 4") }, ErrStep, "x: demo step did not happen in time within 100ms: 0 of 4"},
		{"stack stopped", boom, func() error { return errors.New("0 of 4") }, boom, "demo: x: auditsink: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tc.stopped != nil {
				cancel(tc.stopped)
			}
			start := time.Now()
			s := &Scenario{cfg: Config{Step: 100 * time.Millisecond}}
			err := s.wait(ctx, "x", tc.cond)
			switch {
			case tc.wantMsg == "" && err != nil:
				t.Fatalf("want nil, have %v", err)
			case tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)):
				t.Fatalf("want an error containing %q, have %v", tc.wantMsg, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("want errors.Is %v, have %v", tc.wantErr, err)
			case time.Since(start) > 5*time.Second:
				t.Fatalf("took %s", time.Since(start))
			}
		})
	}
}

// TestReceiver: the receiver answers OpenIM issue #3230's body until it is
// fixed, then the proper one, counting bad answers and the distinct
// operations it acknowledged.
func TestReceiver(t *testing.T) {
	rv, err := StartReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer rv.Close()
	post := func(op string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, rv.URL()+"/callback", strings.NewReader(`{"callbackCommand":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("operationID", op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type: want application/json, have %q", ct)
		}
		return string(b)
	}
	for _, op := range []string{"1", "1"} {
		if have := post(op); have != BadBody {
			t.Fatalf("before the fix: want %s, have %s", BadBody, have)
		}
	}
	rv.Fix()
	for _, op := range []string{"1", "2", "2"} {
		if have := post(op); have != GoodBody {
			t.Fatalf("after the fix: want %s, have %s", GoodBody, have)
		}
	}
	if rv.BadCount() != 2 || rv.GoodCount() != 2 {
		t.Fatalf("want 2 bad answers and 2 operations acknowledged, have %d and %d", rv.BadCount(), rv.GoodCount())
	}
}

// TestTrailComplete: the demo waits until the audit trail holds every row
// of the story, and says what is missing meanwhile.
func TestTrailComplete(t *testing.T) {
	full := trail{
		commands:   []audit.Command{{Outcome: "accepted"}, {Outcome: "accepted"}, {Outcome: "accepted"}, {Outcome: "accepted"}},
		events:     make([]audit.Event, 4),
		deliveries: []audit.DeliveryAttempt{{FailureClass: string(delivery.ClassInvalidResponse)}, {Success: true}, {Success: true}, {Success: true}, {Success: true}},
		changes:    []audit.EndpointChange{{Change: "created"}, {Change: "paused"}, {Change: "resumed"}},
	}
	short := full
	short.events = short.events[:3]
	short.changes = short.changes[:2]
	for _, tc := range []struct {
		name string
		t    trail
		bad  int
		want string
	}{
		{"complete", full, 1, ""},
		{"an invalid response not yet written", full, 2, "have 1 of 2 invalid responses"},
		{"rows missing", short, 1, "have 3 of 4 events; endpoint changes [created paused], want created, paused, resumed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.complete(tc.bad)
			if have := errString(err); have != tc.want {
				t.Fatalf("want %q, have %q", tc.want, have)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "ClickHouseDSN is required") {
		t.Fatalf("want the missing DSN named, have %v", err)
	}
	if have := safeDSN("clickhouse://u:s3cret@127.0.0.1:9000/roster"); have != "clickhouse://127.0.0.1:9000/roster" {
		t.Fatalf("safeDSN: want the password dropped, have %q", have)
	}
}
