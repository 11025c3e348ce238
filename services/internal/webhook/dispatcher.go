package webhook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/endpointkv"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/jsqueue"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/ports"
)

// Dispatcher delivers Roster's events to webhook endpoints and serves the
// roster-webhooks micro service. Several dispatchers may run against one
// NATS: they share the fan-out consumer, every endpoint's consumer and the
// service's queue group. This file is the one place the layers are wired
// together (doc.go has the map).
type Dispatcher struct {
	cfg     Config
	log     zerolog.Logger
	app     *app.App
	store   *endpointkv.Store
	cache   *endpointkv.Cache
	queue   *jsqueue.Queue
	workers *jsqueue.Workers
	fanout  *jsqueue.Fanout
	metrics *app.Metrics

	// serving and fanning say that roster-webhooks answers and that the
	// fan-out consumes (pinned or waiting to be): Ready.
	serving, fanning atomic.Bool
}

// Ready reports whether the dispatcher serves: the roster-webhooks
// endpoints are registered and the fan-out pulls from its consumer. It is
// false before Run has got there and while the fan-out resumes after an
// interruption.
func (d *Dispatcher) Ready() bool { return d.serving.Load() && d.fanning.Load() }

// New provisions what the dispatcher needs (ROSTER_EVENTS when missing,
// ROSTER_WEBHOOK_DELIVERIES, ROSTER_WEBHOOK_POISON and the buckets
// ROSTER_WEBHOOK_ENDPOINTS and ROSTER_WEBHOOK_JOBS) and returns a
// Dispatcher ready to Run.
func New(ctx context.Context, cfg Config) (*Dispatcher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook dispatcher config: %w", err)
	}
	log := cfg.Log.With().Str("component", "webhook").Logger()
	evs, err := eventstore.Provision(ctx, cfg.JS, eventstore.StreamConfig{Replicas: cfg.Replicas})
	if err != nil {
		return nil, err
	}
	queue, err := jsqueue.Provision(ctx, cfg.JS, cfg.Replicas, cfg.JobStateTTL)
	if err != nil {
		return nil, err
	}
	store, err := endpointkv.Provision(ctx, cfg.JS, cfg.Replicas, cfg.SecretKeys)
	if err != nil {
		return nil, err
	}
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: cfg.AllowCIDRs, Resolver: cfg.Resolver, ConnectTimeout: cfg.ConnectTimeout})
	if err != nil {
		return nil, err
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard, MaxBody: cfg.MaxResponseBody, TLSConfig: cfg.TLSConfig})
	if err != nil {
		return nil, err
	}
	m, err := app.NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	cache := endpointkv.NewCache()
	a, err := app.New(app.Config{
		Endpoints: store, View: cache, Events: jsqueue.Events{Stream: evs, Store: eventstore.New(cfg.JS, evs), Log: log}, Queue: queue, States: queue.States(),
		Sender: client, Audit: cfg.Audit, Alerts: jsqueue.Alerts{NC: cfg.NC}, Metrics: m, Log: log,
		Clock: cfg.Clock, Rand: cfg.Rand, Retry: cfg.Retry, Health: cfg.Health,
		HoldDelay: cfg.HoldDelay, MaxHoldDelay: cfg.MaxHoldDelay, Concurrency: cfg.Concurrency, RedeliverLimit: cfg.RedeliverLimit,
	})
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, log: log, app: a, store: store, cache: cache, queue: queue, metrics: m}
	d.workers = jsqueue.NewWorkers(jsqueue.WorkersConfig{
		Queue: queue, View: cache, Log: log, Clock: cfg.Clock, AckWait: cfg.AckWait, Concurrency: cfg.Concurrency,
		NewDeliverer: func(id string) jsqueue.Deliverer { return a.Deliverer(id) },
		Dropped:      func(id string) { m.Depth.DeleteLabelValues(id) },
	})
	d.fanout, err = jsqueue.NewFanout(jsqueue.FanoutConfig{
		NC: cfg.NC, FanOut: a.FanOutBatch, Enqueued: a.JobsEnqueued, Serving: d.fanning.Store,
		Log: log, Clock: cfg.Clock, Batch: cfg.FanoutBatch, AckWait: cfg.FanoutAckWait,
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Run delivers and serves until ctx ends. It returns nil on a clean stop.
func (d *Dispatcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.cache.OnChange = func(id string, _ *endpoint.Endpoint) { d.workers.Changed(id) }
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	spawn := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	spawn("endpoint watch", func(ctx context.Context) error { return d.cache.Run(ctx, d.store) })
	if err := d.cache.WaitFor(ctx, func(uint64, func(string) (endpoint.Endpoint, bool)) bool { return true }); err != nil {
		return nil
	}
	if d.cfg.SecretKeys == nil {
		d.log.Warn().Str("bucket", endpoint.Bucket).Msg("no webhook secret key configured: endpoint secrets are stored in plaintext")
	} else {
		d.log.Info().Str("key_id", d.cfg.SecretKeys.CurrentKeyID()).Msg("webhook endpoint secrets sealed at rest")
	}
	spawn("workers", d.workers.Run)
	spawn("fan-out", d.fanout.Run)
	spawn("service", func(ctx context.Context) error {
		return ports.Serve(ctx, ports.Config{NC: d.cfg.NC, App: d.app, Log: d.log, Version: d.cfg.Version, Serving: d.serving.Store})
	})
	spawn("queue depth", d.sampleDepth)
	d.log.Info().Msg("webhook dispatcher running")
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	return err
}

// sampleDepth exports each endpoint's queued and in-flight job count.
func (d *Dispatcher) sampleDepth(ctx context.Context) error {
	t := d.cfg.Clock.NewTicker(d.cfg.DepthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		for _, ep := range d.cache.All() {
			if n, err := d.queue.Depth(ctx, ep.ID); err == nil {
				d.metrics.Depth.WithLabelValues(ep.ID).Set(float64(n))
			}
		}
	}
}

// QueueDepth is endpoint id's count of queued plus in-flight jobs.
func (d *Dispatcher) QueueDepth(ctx context.Context, id string) (uint64, error) {
	return d.queue.Depth(ctx, id)
}
