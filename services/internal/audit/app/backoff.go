package app

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jonboulle/clockwork"
	"github.com/rosterhq/roster/services/internal/wait"
)

// Backoff is a retry schedule: Min, 2*Min, 4*Min... capped at Max. No
// jitter (RandomizationFactor 0): one sink instance per consumer does not
// stampede, and a deterministic schedule tests plainly. The schedule is
// github.com/cenkalti/backoff/v5's exponential one (docs/adr/0071); the
// waits go through a clockwork.Clock so tests can use a fake one.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// Policy is a fresh schedule (an ExponentialBackOff is stateful: one per
// retry loop).
func (b Backoff) Policy() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     b.Min,
		RandomizationFactor: 0,
		Multiplier:          2,
		MaxInterval:         b.Max,
	}
}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	p := b.Policy()
	d := p.NextBackOff()
	for i := 0; i < attempt && d < b.Max; i++ {
		d = p.NextBackOff()
	}
	return d
}

// Valid reports whether the schedule can run: 0 < Min <= Max.
func (b Backoff) Valid() bool { return b.Min > 0 && b.Max >= b.Min }

// Retry calls fn until it succeeds or ctx ends, waiting on clock per the
// schedule between attempts; notify hears each failure and the wait that
// follows it.
func Retry[T any](ctx context.Context, clock clockwork.Clock, b Backoff, notify func(error, time.Duration), fn func() (T, error)) (T, error) {
	policy := b.Policy()
	for {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		d := policy.NextBackOff()
		if notify != nil {
			notify(err, d)
		}
		if err := wait.For(ctx, clock, d); err != nil {
			return v, err
		}
	}
}
