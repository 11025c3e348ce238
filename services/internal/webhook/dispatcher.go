package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Dispatcher delivers Roster's events to webhook endpoints and serves the
// roster-webhooks micro service. Several dispatchers may run against one
// NATS: they share the fan-out consumer, every endpoint's consumer and the
// service's queue group.
type Dispatcher struct {
	cfg        Config
	log        zerolog.Logger
	store      *endpoint.Store
	cache      *endpoint.Cache
	events     jetstream.Stream
	deliveries jetstream.Stream
	jobs       jobStore
	client     *delivery.Client
	metrics    *metrics

	mu      sync.Mutex
	workers map[string]*worker
	dirty   map[string]struct{}
	kick    chan struct{}

	// given remembers the deliveries this process handed back unsent
	// (repeat detection); it outlives workers stopped by a pause.
	given givenBack

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
	evs, err := eventstore.Provision(ctx, cfg.JS, eventstore.StreamConfig{Replicas: cfg.Replicas})
	if err != nil {
		return nil, err
	}
	deliveries, jobsKV, err := provision(ctx, cfg.JS, cfg)
	if err != nil {
		return nil, err
	}
	store, err := endpoint.Provision(ctx, cfg.JS, cfg.Replicas, cfg.SecretKeys)
	if err != nil {
		return nil, err
	}
	guard, err := delivery.NewGuard(delivery.GuardConfig{Allow: cfg.AllowCIDRs, Resolver: cfg.Resolver, ConnectTimeout: cfg.ConnectTimeout})
	if err != nil {
		return nil, err
	}
	client, err := delivery.NewClient(delivery.ClientConfig{Guard: guard, MaxBody: cfg.MaxResponseBody, TLSConfig: cfg.TLSConfig})
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Dispatcher{
		cfg: cfg, log: cfg.Log.With().Str("component", "webhook").Logger(),
		store: store, cache: endpoint.NewCache(), events: evs, deliveries: deliveries,
		jobs: jobStore{kv: jobsKV}, client: client, metrics: m,
		workers: map[string]*worker{}, dirty: map[string]struct{}{}, kick: make(chan struct{}, 1),
	}, nil
}

// Run delivers and serves until ctx ends. It returns nil on a clean stop.
func (d *Dispatcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.cache.OnChange = func(id string, _ *endpoint.Endpoint) { d.markDirty(id) }
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
	for _, ep := range d.cache.All() {
		d.markDirty(ep.ID)
	}
	spawn("workers", d.manage)
	spawn("fan-out", d.runFanout)
	spawn("service", d.serve)
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

func (d *Dispatcher) markDirty(id string) {
	d.mu.Lock()
	d.dirty[id] = struct{}{}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// manage keeps one running worker per active endpoint: it starts workers
// for new or resumed endpoints and stops them for paused or deleted ones,
// so endpoint changes take effect without a restart.
func (d *Dispatcher) manage(ctx context.Context) error {
	defer func() {
		d.mu.Lock()
		ws := d.workers
		d.workers = map[string]*worker{}
		d.mu.Unlock()
		for _, w := range ws {
			w.stop(true)
		}
		for _, w := range ws {
			w.wait()
		}
	}()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
		case <-retry.C:
		}
		d.mu.Lock()
		ids := make([]string, 0, len(d.dirty))
		for id := range d.dirty {
			ids = append(ids, id)
		}
		clear(d.dirty)
		d.mu.Unlock()
		for _, id := range ids {
			if err := d.reconcile(ctx, id); err != nil && ctx.Err() == nil {
				d.log.Warn().Err(err).Str("endpoint_id", id).Msg("reconciling endpoint worker; retrying")
				d.mu.Lock()
				d.dirty[id] = struct{}{}
				d.mu.Unlock()
				retry.Reset(time.Second)
			}
		}
	}
}

func (d *Dispatcher) reconcile(ctx context.Context, id string) error {
	ep, exists := d.cache.Get(id)
	d.mu.Lock()
	w := d.workers[id]
	d.mu.Unlock()
	switch {
	case !exists:
		if w != nil {
			w.stop(true)
			d.dropWorker(id)
		}
		// Deleted: its queue goes with it.
		if err := d.deliveries.DeleteConsumer(ctx, consumerName(id)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
		if err := d.deliveries.Purge(ctx, jetstream.WithPurgeSubject(DeliverySubjectPrefix+id+".>")); err != nil {
			return err
		}
		d.metrics.depth.DeleteLabelValues(id)
	case ep.Paused():
		if w != nil {
			w.stop(false)
			d.dropWorker(id)
		}
		// The consumer stays: its jobs are held until resume.
		if _, err := d.ensureConsumer(ctx, id); err != nil {
			return err
		}
	case w == nil:
		w, err := d.startWorker(ctx, id)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.workers[id] = w
		d.mu.Unlock()
	}
	return nil
}

func (d *Dispatcher) dropWorker(id string) {
	d.mu.Lock()
	delete(d.workers, id)
	d.mu.Unlock()
}

// sampleDepth exports each endpoint's queued and in-flight job count.
func (d *Dispatcher) sampleDepth(ctx context.Context) error {
	t := time.NewTicker(d.cfg.DepthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, ep := range d.cache.All() {
			n, err := d.QueueDepth(ctx, ep.ID)
			if err == nil {
				d.metrics.depth.WithLabelValues(ep.ID).Set(float64(n))
			}
		}
	}
}

// QueueDepth is endpoint id's count of queued plus in-flight jobs.
func (d *Dispatcher) QueueDepth(ctx context.Context, id string) (uint64, error) {
	c, err := d.deliveries.Consumer(ctx, consumerName(id))
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// Alert is published on AlertPausedSubject when an endpoint is paused
// automatically.
type Alert struct {
	EndpointID string    `json:"endpoint_id"`
	URL        string    `json:"url"`
	Reason     string    `json:"reason"`
	PausedAt   time.Time `json:"paused_at"`
}

// autoPause pauses an endpoint for the health policy; only the dispatcher
// that changes the state alerts, so a burst of failures alerts once.
func (d *Dispatcher) autoPause(ctx context.Context, id, reason string) error {
	ep, changed, err := d.setPaused(ctx, id, true, "system", true, reason)
	if err != nil || !changed {
		return err
	}
	d.metrics.paused.WithLabelValues(id).Inc()
	pausedAt := d.cfg.Now().UTC()
	if ep.PausedAt != nil {
		pausedAt = *ep.PausedAt
	}
	a := Alert{EndpointID: id, URL: redactURL(ep.URL), Reason: reason, PausedAt: pausedAt}
	d.log.Warn().Str("endpoint_id", id).Str("url", a.URL).Str("reason", reason).
		Str("alert_subject", AlertPausedSubject).Msg("webhook endpoint paused automatically; deliveries are held until it is resumed")
	b, _ := json.Marshal(a)
	if err := d.cfg.NC.Publish(AlertPausedSubject, b); err != nil {
		return fmt.Errorf("publish alert: %w", err)
	}
	return nil
}

// setPaused pauses or resumes an endpoint and records the change.
func (d *Dispatcher) setPaused(ctx context.Context, id string, pause bool, actor string, automatic bool, reason string) (endpoint.Endpoint, bool, error) {
	now := d.cfg.Now().UTC()
	ep, rev, changed, err := d.store.Update(ctx, id, func(e *endpoint.Endpoint) error {
		if e.Paused() == pause {
			return endpoint.ErrNoChange
		}
		e.UpdatedAt = now
		if pause {
			e.State, e.PausedAt, e.PausedReason, e.PausedBy = endpoint.StatePaused, &now, reason, actor
		} else {
			e.State, e.PausedAt, e.PausedReason, e.PausedBy, e.ResumedAt = endpoint.StateActive, nil, "", "", &now
		}
		return nil
	})
	if err != nil || !changed {
		return ep, false, err
	}
	change := "resumed"
	if pause {
		change = "paused"
	}
	// Stamped with the time the change was made, not the time it is
	// recorded, so the trail orders a pause before the resume it caused.
	d.recordChange(ep, change, actor, automatic, reason, now)
	_ = d.cache.WaitRevision(ctx, rev)
	return ep, true, nil
}

func (d *Dispatcher) recordChange(ep endpoint.Endpoint, change, actor string, automatic bool, reason string, at time.Time) {
	b, _ := json.Marshal(ep.ForAudit())
	group := ""
	if len(ep.GroupIDs) == 1 {
		group = ep.GroupIDs[0]
	}
	r := audit.EndpointChange{
		ID: uuid.NewString(), EndpointID: ep.ID, Change: change, Actor: actor, Automatic: automatic,
		Reason: reason, GroupID: group, Endpoint: string(b), At: at.UTC(),
	}
	// The change is made: wait (bounded, retrying) until its record is
	// stored, and if that fails hand it to the buffered path, which retries
	// until JetStream stores it (waiting for room if it must); the same
	// record id keeps a double publish from counting twice.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := audit.StoreDurably(ctx, d.cfg.Audit, r); err != nil {
		d.log.Warn().Err(err).Str("endpoint_id", ep.ID).Msg("recording endpoint change; retrying in the background")
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer bcancel()
		if err := d.cfg.Audit.Record(bctx, r); err != nil {
			d.log.Error().Err(err).Str("endpoint_id", ep.ID).Str("change", change).Str("record_id", r.ID).Msg("endpoint change not recorded in the audit trail")
		}
	}
}
