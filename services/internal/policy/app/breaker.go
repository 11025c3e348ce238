package app

import (
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/sony/gobreaker/v2"

	"github.com/rosterhq/roster/services/internal/policy/hook"
)

// BreakerConfig configures the circuit breaker each hook has
// (docs/policy.md "Failures and the breaker").
type BreakerConfig struct {
	// Failures is how many calls in a row must fail for the breaker to
	// open (default 5).
	Failures uint32
	// CoolDown is how long an open breaker lets no call through and
	// applies on_failure at once (default 30s); then it is half-open.
	CoolDown time.Duration
	// Probes is how many calls a half-open breaker lets through; they
	// all succeed: closed again; one fails: open for another cool-down
	// (default 1).
	Probes uint32
}

func (c *BreakerConfig) setDefaults() {
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.CoolDown == 0 {
		c.CoolDown = 30 * time.Second
	}
	if c.Probes == 0 {
		c.Probes = 1
	}
}

// errCallFailed and errExcluded are what a finished call tells the
// breaker: a failure of the hook, or nothing (the caller gave up).
var (
	errCallFailed = errors.New("policy hook call failed")
	errExcluded   = errors.New("caller gave up")
)

// breakers holds one breaker per hook version: a hook that is updated
// (a fixed URL) starts closed.
type breakers struct {
	cfg     BreakerConfig
	metrics *CheckMetrics
	log     zerolog.Logger

	mu sync.Mutex
	m  map[string]hookBreaker
}

type hookBreaker struct {
	version time.Time
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func newBreakers(cfg BreakerConfig, m *CheckMetrics, log zerolog.Logger) *breakers {
	return &breakers{cfg: cfg, metrics: m, log: log, m: map[string]hookBreaker{}}
}

func (b *breakers) get(h hook.Hook) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if hb, ok := b.m[h.ID]; ok && hb.version.Equal(h.UpdatedAt) {
		return hb.cb
	}
	id := h.ID
	cb := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        id,
		MaxRequests: b.cfg.Probes,
		Timeout:     b.cfg.CoolDown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.cfg.Failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			open := 0.0
			if to == gobreaker.StateOpen {
				open = 1
			}
			b.metrics.breakerOpen.WithLabelValues(id).Set(open)
			b.log.Warn().Str("hook_id", id).Str("from", from.String()).Str("to", to.String()).Msg("policy hook breaker")
		},
	})
	b.m[id] = hookBreaker{version: h.UpdatedAt, cb: cb}
	b.metrics.breakerOpen.WithLabelValues(id).Set(0)
	return cb
}

// allow asks h's breaker for one call. open: no call may be made (the
// breaker is open, or half-open with its probes taken). Otherwise done
// must be called once with the call's result.
func (b *breakers) allow(h hook.Hook) (done func(ok, excluded bool), open bool) {
	finish, err := b.get(h).Allow()
	if err != nil {
		return nil, true
	}
	return func(ok, excluded bool) {
		switch {
		case excluded:
			finish(errExcluded)
		case ok:
			finish(nil)
		default:
			finish(errCallFailed)
		}
	}, false
}
