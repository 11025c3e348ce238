package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// WorkersConfig configures Workers.
type WorkersConfig struct {
	Queue *Queue
	// View is the endpoints as this process sees them.
	View interface {
		Get(id string) (endpoint.Endpoint, bool)
		All() []endpoint.Endpoint
	}
	// NewDeliverer returns the handler of one endpoint's jobs; it is
	// called each time the endpoint's worker starts.
	NewDeliverer func(endpointID string) Deliverer
	// Dropped is called when an endpoint's queue is removed (deleted).
	Dropped     func(endpointID string)
	Log         zerolog.Logger
	Clock       clockwork.Clock
	AckWait     time.Duration
	Concurrency int
}

// Workers keeps one running worker per active endpoint: it starts workers
// for new or resumed endpoints and stops them for paused or deleted ones,
// so endpoint changes take effect without a restart.
type Workers struct {
	cfg WorkersConfig

	mu      sync.Mutex
	workers map[string]*worker
	dirty   map[string]struct{}
	kick    chan struct{}
}

// NewWorkers returns Workers; Run starts them.
func NewWorkers(cfg WorkersConfig) *Workers {
	return &Workers{cfg: cfg, workers: map[string]*worker{}, dirty: map[string]struct{}{}, kick: make(chan struct{}, 1)}
}

// Changed says endpoint id changed (created, updated, paused, resumed,
// deleted): its worker is reconciled.
func (ws *Workers) Changed(id string) {
	ws.mu.Lock()
	ws.dirty[id] = struct{}{}
	ws.mu.Unlock()
	select {
	case ws.kick <- struct{}{}:
	default:
	}
}

// Run reconciles workers until ctx ends, then stops them all and waits
// for their jobs.
func (ws *Workers) Run(ctx context.Context) error {
	defer func() {
		ws.mu.Lock()
		all := ws.workers
		ws.workers = map[string]*worker{}
		ws.mu.Unlock()
		for _, w := range all {
			w.stop(true)
		}
		for _, w := range all {
			w.wait()
		}
	}()
	for _, ep := range ws.cfg.View.All() {
		ws.Changed(ep.ID)
	}
	retry := ws.cfg.Clock.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ws.kick:
		case <-retry.Chan():
		}
		ws.mu.Lock()
		ids := make([]string, 0, len(ws.dirty))
		for id := range ws.dirty {
			ids = append(ids, id)
		}
		clear(ws.dirty)
		ws.mu.Unlock()
		for _, id := range ids {
			if err := ws.reconcile(ctx, id); err != nil && ctx.Err() == nil {
				ws.cfg.Log.Warn().Err(err).Str("endpoint_id", id).Msg("reconciling endpoint worker; retrying")
				ws.mu.Lock()
				ws.dirty[id] = struct{}{}
				ws.mu.Unlock()
				retry.Reset(time.Second)
			}
		}
	}
}

func (ws *Workers) reconcile(ctx context.Context, id string) error {
	ep, exists := ws.cfg.View.Get(id)
	ws.mu.Lock()
	w := ws.workers[id]
	ws.mu.Unlock()
	switch {
	case !exists:
		if w != nil {
			w.stop(true)
			ws.drop(id)
		}
		// Deleted: its queue goes with it.
		d := ws.cfg.Queue.deliveries
		if err := d.DeleteConsumer(ctx, ConsumerName(id)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
		if err := d.Purge(ctx, jetstream.WithPurgeSubject(DeliverySubjectPrefix+id+".>")); err != nil {
			return err
		}
		if ws.cfg.Dropped != nil {
			ws.cfg.Dropped(id)
		}
	case ep.Paused():
		if w != nil {
			w.stop(false)
			ws.drop(id)
		}
		// The consumer stays: its jobs are held until resume.
		if _, err := ws.ensureConsumer(ctx, id); err != nil {
			return err
		}
	case w == nil:
		w, err := ws.startWorker(ctx, id)
		if err != nil {
			return err
		}
		ws.mu.Lock()
		ws.workers[id] = w
		ws.mu.Unlock()
	}
	return nil
}

func (ws *Workers) drop(id string) {
	ws.mu.Lock()
	delete(ws.workers, id)
	ws.mu.Unlock()
}

// ensureConsumer creates or updates endpoint id's durable consumer.
func (ws *Workers) ensureConsumer(ctx context.Context, id string) (jetstream.Consumer, error) {
	cons, err := ws.cfg.Queue.deliveries.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       ConsumerName(id),
		Description:   "Roster webhook deliveries of endpoint " + id,
		FilterSubject: DeliverySubjectPrefix + id + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ws.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: prefetch * ws.cfg.Concurrency,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ConsumerName(id), err)
	}
	return cons, nil
}
