package kvrecord_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/archtest"
	"github.com/rosterhq/roster/services/internal/kvrecord"
)

var errs = kvrecord.Errors{
	NotFound: errors.New("thing not found"), Exists: errors.New("thing already exists"),
	Contention: errors.New("thing changed concurrently too often"), NoChange: errors.New("no change"),
}

func TestWire(t *testing.T) {
	other := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
		want events.Code // "" : returned as it is
	}{
		{"not found", fmt.Errorf("%q: %w", "t1", errs.NotFound), events.CodeNotFound},
		{"exists", fmt.Errorf("%q: %w", "t1", errs.Exists), events.CodeAlreadyExists},
		{"contention", fmt.Errorf("update thing %q: %w", "t1", errs.Contention), events.CodeConflict},
		{"deadline", fmt.Errorf("get thing %q: %w", "t1", context.DeadlineExceeded), events.CodeUnavailable},
		{"other", other, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := errs.Wire(tc.err)
			if tc.want == "" {
				if have != tc.err {
					t.Fatalf("want the error as it is, have %v", have)
				}
				return
			}
			var e *events.Error
			if !errors.As(have, &e) || e.Code != tc.want || e.Message != tc.err.Error() || !errors.Is(have, tc.err) {
				t.Fatalf("want code %s, message %q and the cause kept, have %#v", tc.want, tc.err.Error(), have)
			}
		})
	}
	if errs.Wire(nil) != nil {
		t.Fatal("want nil for nil")
	}
}

// TestLayers: the use cases import this package to map store errors, so
// it must not bring NATS with it.
func TestLayers(t *testing.T) {
	archtest.CheckLayers(t, []archtest.Layer{{Dir: ".", Allowed: func(p string) bool {
		return archtest.Stdlib(p) || p == "github.com/rosterhq/roster/events"
	}, Rule: "kvrecord imports the standard library and events only (jskv holds the NATS store)"}})
}
