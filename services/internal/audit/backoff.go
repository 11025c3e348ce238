package audit

import (
	"context"
	"time"
)

// Backoff is the sink's retry schedule while ClickHouse is unreachable:
// Min, 2*Min, 4*Min... capped at Max. No jitter: one sink instance per
// consumer does not stampede, and a deterministic schedule tests plainly.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d
}

// sleepCtx waits d or until ctx ends. It is the default Sleep of the sink;
// tests inject their own.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
