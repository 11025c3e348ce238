package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/wait"
)

// env is what every service gets from the process: its logger, a
// connection to NATS, and the registry its metrics go to.
type env struct {
	log  zerolog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	opts *options
	// dev is true under "rosterd dev": loopback webhooks are allowed and
	// console-friendly defaults apply.
	dev bool
	// metrics is the process's one Prometheus registry, the one /metrics
	// serves: every service registers its collectors there (set by the
	// process after connecting).
	metrics prometheus.Registerer

	recorderOnce sync.Once
	recorder     audit.Recorder

	// health is what /healthz and /readyz report.
	health *health
	// clock paces the process's waits (the connect retries too).
	clock clockwork.Clock
}

// connectEnv connects to NATS as the rosterd service name, retrying with
// backoff while no server answers (a service may start before its NATS
// server; /healthz answers meanwhile and /readyz says 503). A refused
// authentication or a bad option still fails at once.
func connectEnv(ctx context.Context, o *options, log zerolog.Logger, name string, clock clockwork.Clock) (*env, error) {
	nc, err := dialRetry(ctx, log, clock, func() (*nats.Conn, error) {
		return natsx.Connect(o.clientConfig("rosterd-" + name))
	})
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &env{log: log, nc: nc, js: js, opts: o, clock: clock}, nil
}

// dialRetry calls dial until it connects, ctx ends, or it fails for a
// reason other than no server answering. It waits the supervisor's
// schedule between tries.
func dialRetry(ctx context.Context, log zerolog.Logger, clock clockwork.Clock, dial func() (*nats.Conn, error)) (*nats.Conn, error) {
	b := newBackOff()
	for {
		nc, err := dial()
		if err == nil {
			return nc, nil
		}
		if !natsx.Retryable(err) {
			return nil, err
		}
		d := b.NextBackOff()
		log.Warn().Err(err).Dur("retry_in", d).Msg("connecting to NATS")
		if err := wait.For(ctx, clock, d); err != nil {
			return nil, fmt.Errorf("connect to NATS: %w", errors.Join(err, ctx.Err()))
		}
	}
}

// close ends the process's connection.
func (e *env) close() { e.nc.Close() }

func (e *env) healthState() *health {
	if e.health == nil {
		e.health = &health{}
	}
	return e.health
}

// audit returns the process's audit recorder: one ROSTER_AUDIT publisher
// that every service of the process records through. When it cannot be
// built, records are dropped (and an error says so once).
func (e *env) audit() audit.Recorder {
	e.recorderOnce.Do(func() {
		if e.recorder != nil {
			return
		}
		r, err := newAuditRecorder(e)
		if err != nil {
			e.log.Error().Err(err).Msg("audit publisher unavailable; audit records are dropped")
			r = audit.Nop{}
		}
		e.recorder = r
	})
	return e.recorder
}
