package app

import (
	"errors"
	"testing"

	"github.com/rosterhq/roster/events"
)

func TestTrailMessage(t *testing.T) {
	cause := errors.New("version 7 does not follow 5")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"typed: what the caller read", events.Errorf(events.CodeForbidden, "actor x may not"), "actor x may not"},
		{"typed with a cause: still what the caller read", events.Wrap(events.CodeConflict, cause, "group changed"), "group changed"},
		{"internal keeps its detail", events.Wrap(events.CodeInternal, cause, "fold own commit"), "fold own commit: version 7 does not follow 5"},
		{"untyped: its text", cause, "version 7 does not follow 5"},
	} {
		if have := trailMessage(tc.err); have != tc.want {
			t.Errorf("%s: want %q, have %q", tc.name, tc.want, have)
		}
	}
}
