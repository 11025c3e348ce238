// Package wait is the one way Roster's retry, backoff and hold loops wait:
// on an injected clockwork.Clock, so tests step a fake clock instead of
// sleeping, and never past the caller's context.
package wait

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// For waits d on clock, or until ctx ends (then ctx's error).
func For(ctx context.Context, clock clockwork.Clock, d time.Duration) error {
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}
