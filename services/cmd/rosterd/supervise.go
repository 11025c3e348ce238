package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/cenkalti/backoff/v5"
	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/wait"
)

// newBackOff is the supervisor's retry schedule: 250ms, doubling up to
// 15s, each delay spread by +-20% so that the processes a failover hit
// together do not retry in step. Every loop that retries gets its own (a
// BackOff holds the loop's state).
func newBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     250 * time.Millisecond,
		Multiplier:          2,
		MaxInterval:         15 * time.Second,
		RandomizationFactor: 0.2,
	}
}

// errPermanent marks a failure that retrying cannot fix (an invalid
// configuration, a stream that exists with an incompatible one).
var errPermanent = errors.New("permanent")

// retryableStart reports whether a service that failed to start (provision
// streams, buckets, consumers, migrate ClickHouse) may start when tried
// again: NATS or the network is unavailable, JetStream has no leader yet,
// ClickHouse is down. Anything else (an invalid configuration, a stream
// with an incompatible configuration) stops the process.
func retryableStart(err error) bool {
	if errors.Is(err, errPermanent) || natsx.Conflicting(err) {
		return false
	}
	if natsx.Retryable(err) {
		return true
	}
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && transientClickHouse[ex.Code]
}

// retryableRun reports whether a service that served and then failed
// should be restarted: it started, so its configuration was good, and
// what failed is the environment, unless the error says otherwise.
func retryableRun(err error) bool {
	return !errors.Is(err, errPermanent) && !natsx.Conflicting(err)
}

// ClickHouse exception codes that say the server is busy or restarting.
var transientClickHouse = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	242: true, // TABLE_IS_READ_ONLY
	394: true, // QUERY_WAS_CANCELLED
}

// unit is one service of the process as the supervisor runs it; its
// readiness is what /readyz reports.
type unit struct {
	name string
	// comps are the running components, nil while the service is
	// starting or restarting.
	comps atomic.Pointer[[]component]
}

// ready reports whether the service serves: built, running, and every
// component that can tell says it serves.
func (u *unit) ready() bool {
	cs := u.comps.Load()
	if cs == nil {
		return false
	}
	for _, c := range *cs {
		if c.ready != nil && !c.ready() {
			return false
		}
	}
	return true
}

// readiness is the state of every service of the process.
type readiness struct {
	mu    sync.Mutex
	units []*unit
}

func (r *readiness) add(name string) *unit {
	u := &unit{name: name}
	r.mu.Lock()
	r.units = append(r.units, u)
	r.mu.Unlock()
	return u
}

// state reports whether every service is ready, and the names of those
// that are not (sorted).
func (r *readiness) state() (bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var waiting []string
	for _, u := range r.units {
		if !u.ready() {
			waiting = append(waiting, u.name)
		}
	}
	sort.Strings(waiting)
	return len(r.units) > 0 && len(waiting) == 0, waiting
}

// supervisor starts a service and keeps it running: provisioning that
// fails on a transient error is retried with backoff, a service whose
// component fails later is stopped and started again with backoff. Only
// permanent errors end it (and with it the process).
type supervisor struct {
	log zerolog.Logger
	// backoff makes the retry schedule of one service.
	backoff func() backoff.BackOff
	// clock waits the backoff and tells how long a service ran.
	clock clockwork.Clock
	// healthyAfter: a service that ran this long before failing starts
	// its backoff over.
	healthyAfter time.Duration
}

func newSupervisor(log zerolog.Logger, clock clockwork.Clock) *supervisor {
	return &supervisor{log: log, backoff: newBackOff, clock: clock, healthyAfter: time.Minute}
}

// run builds and runs s until ctx ends (nil) or a permanent error.
func (sv *supervisor) run(ctx context.Context, e *env, s service, u *unit) error {
	log := sv.log.With().Str("supervised", s.name).Logger()
	b := sv.backoff()
	attempt := 0
	wait := func() error {
		d := b.NextBackOff()
		attempt++
		log.Info().Dur("retry_in", d).Int("attempt", attempt).Msg("service " + s.name + " not serving; retrying")
		return wait.For(ctx, sv.clock, d)
	}
	for {
		comps, err := s.build(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !retryableStart(err) {
				return fmt.Errorf("start %s: %w", s.name, err)
			}
			log.Warn().Err(err).Msg("starting " + s.name + " failed")
			if wait() != nil {
				return nil
			}
			continue
		}
		u.comps.Store(&comps)
		started := sv.clock.Now()
		err = runComponents(ctx, log, comps)
		u.comps.Store(nil)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("stopped by itself")
		}
		if !retryableRun(err) {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if sv.clock.Since(started) > sv.healthyAfter {
			b.Reset()
			attempt = 0
		}
		log.Error().Err(err).Msg("service " + s.name + " failed; restarting it")
		if wait() != nil {
			return nil
		}
	}
}
