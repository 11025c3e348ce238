package main

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/jonboulle/clockwork"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// process is one rosterd process: a run group (github.com/oklog/run,
// docs/adr/0076) of actors started together and stopped together. When the
// first actor returns, every other is interrupted and the process ends
// with the first one's error. Its actors:
//
//   - the services, each under its supervisor (transient failures are
//     retried there, so this actor returns only on a permanent error or
//     when interrupted);
//   - the HTTP server for /healthz, /readyz and /metrics (--metrics-addr);
//   - signal handling (SIGINT, SIGTERM) in a real process;
//   - under "rosterd dev", the embedded NATS server, and with --demo the
//     demo scenario.
//
// The services stop first: the HTTP server and the embedded NATS server
// stop only once the services have returned, so /healthz and /metrics
// answer, and NATS takes the last audit records, while the services drain.
type process struct {
	name     string
	opts     *options
	log      zerolog.Logger
	clock    clockwork.Clock
	services []service
	// metrics is the one registry of the process: /metrics serves it and
	// every service registers on it (env.metrics).
	metrics *prometheus.Registry
	health  *health
	// metricsListener is --metrics-addr's listener, nil when off.
	metricsListener net.Listener
	// servicesDone is closed when the services actor has returned and
	// its NATS connection is closed.
	servicesDone chan struct{}
	// dev marks the "rosterd dev" process (env.dev).
	dev bool

	group run.Group
}

// newProcess prepares the process that runs svcs as name. A bad log option
// or a taken --metrics-addr fails here, before anything starts.
func newProcess(o *options, name string, svcs []service) (*process, error) {
	log, err := o.logger(name)
	if err != nil {
		return nil, err
	}
	// The inbox prefix follows the service name (options.clientConfig).
	o.service = name
	p := &process{
		name: name, opts: o, log: log, clock: clockwork.NewRealClock(), services: svcs,
		metrics: newRegistry(), servicesDone: make(chan struct{}),
	}
	p.health = &health{metrics: p.metrics}
	if o.metricsAddr != "" {
		ln, err := p.health.listen(o.metricsAddr)
		if err != nil {
			return nil, err
		}
		p.metricsListener = ln
	}
	return p, nil
}

// handleSignals makes SIGINT and SIGTERM stop the process (an actor of
// its own; a process run in a test is stopped by its context instead).
func (p *process) handleSignals() {
	p.group.Add(run.SignalHandler(context.Background(), os.Interrupt, syscall.SIGTERM))
}

// add adds an actor to the process (see run.Group.Add).
func (p *process) add(execute func() error, interrupt func(error)) {
	p.group.Add(execute, interrupt)
}

// afterServices is an actor for a resource the services use (the HTTP
// server, the embedded NATS server). hold runs the resource until stop is
// closed (nil) or the resource fails (its error, which stops the process).
// Once interrupted, the actor waits for the services to return before it
// releases the resource.
func (p *process) afterServices(hold func(stop <-chan struct{}) error, release func()) (execute func() error, interrupt func(error)) {
	stop := make(chan struct{})
	var once sync.Once
	return func() error {
			if err := hold(stop); err != nil {
				release()
				return err
			}
			<-p.servicesDone
			release()
			return nil
		}, func(error) {
			once.Do(func() { close(stop) })
		}
}

// run runs the process until its first actor returns, or ctx ends. A
// signal or the end of ctx is a clean stop (nil).
func (p *process) run(ctx context.Context) error {
	if p.metricsListener != nil {
		p.add(p.health.serveActor(p, p.metricsListener))
	}
	p.add(p.servicesActor(ctx))
	err := p.group.Run()
	if errors.Is(err, run.ErrSignal) || (errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		p.log.Info().Str("reason", err.Error()).Msg("stopped")
		return nil
	}
	return err
}

// servicesActor connects to NATS and runs the services under their
// supervisors until interrupted or one fails permanently.
func (p *process) servicesActor(ctx context.Context) (execute func() error, interrupt func(error)) {
	ctx, cancel := context.WithCancel(ctx)
	return func() error {
			defer close(p.servicesDone)
			e, err := connectEnv(ctx, p.opts, p.log, p.name, p.clock)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			defer e.close()
			e.dev, e.metrics, e.health = p.dev, p.metrics, p.health
			return runServices(ctx, e, p.services, p.clock)
		}, func(error) {
			cancel()
		}
}

// runServices runs svcs on one connection, each under a supervisor: a
// service that cannot start for a transient reason (NATS unreachable, no
// JetStream leader yet, ClickHouse down) is retried with backoff, one that
// fails later is restarted; a permanent error of one stops them all (a run
// group of one actor per service) and is returned. /readyz answers 200 once
// every service serves.
func runServices(ctx context.Context, e *env, svcs []service, clock clockwork.Clock) error {
	h := e.healthState()
	h.setConn(e.nc)
	// The audit publisher outlives the services: it starts first and
	// stops last, draining what they recorded on their way out.
	records := false
	for _, s := range svcs {
		records = records || s.records
	}
	if r, ok := e.audit().(interface{ Run(context.Context) error }); ok && records {
		pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := r.Run(pubCtx); err != nil {
				e.log.Error().Err(err).Msg("audit publisher stopped")
			}
		}()
		defer func() { stopPub(); <-done }()
	}
	sv := newSupervisor(e.log, clock)
	var g run.Group
	for _, s := range svcs {
		u := h.ready.add(s.name)
		sctx, cancel := context.WithCancel(ctx)
		g.Add(func() error {
			err := sv.run(sctx, e, s, u)
			if err != nil {
				e.log.Error().Err(err).Msg("stopping: " + s.name + " cannot run")
			}
			return err
		}, func(error) { cancel() })
	}
	e.log.Info().Strs("services", serviceNames(svcs)).Msg("roster starting")
	return g.Run()
}
