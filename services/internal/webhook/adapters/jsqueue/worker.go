package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// prefetch is how many jobs per HTTP slot an endpoint's consumer may have
// outstanding (MaxAckPending = prefetch x Concurrency).
const prefetch = 8

// Deliverer is what a worker hands each job to (app.Deliverer).
type Deliverer interface {
	Deliver(ctx context.Context, msg app.JobMsg)
	GiveBack(msg app.JobMsg)
}

// worker consumes one endpoint's jobs through its own durable pull
// consumer, so a slow, failing or paused endpoint never delays another.
type worker struct {
	ws     *Workers
	id     string
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	cc     jetstream.ConsumeContext
	d      Deliverer

	mu      sync.Mutex
	stopped bool
	lanes   map[string][]*lease // ordered endpoints: queued jobs per subject (group)
	wg      sync.WaitGroup
}

// startWorker starts consuming endpoint id's jobs.
func (ws *Workers) startWorker(ctx context.Context, id string) (*worker, error) {
	cons, err := ws.ensureConsumer(ctx, id)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{ws: ws, id: id, ctx: wctx, cancel: cancel, lanes: map[string][]*lease{},
		log: ws.cfg.Log.With().Str("endpoint_id", id).Logger(), d: ws.cfg.NewDeliverer(id)}
	w.cc, err = cons.Consume(w.onMsg,
		jetstream.PullMaxMessages(prefetch*ws.cfg.Concurrency),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				w.log.Debug().Err(err).Msg("consume")
			}
		}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("consume %s: %w", ConsumerName(id), err)
	}
	return w, nil
}

// stop stops fetching. abort also cancels in-flight attempts (deletion,
// shutdown); a pause lets them finish.
func (w *worker) stop(abort bool) {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	// Drain hands buffered jobs to onMsg, which gives them straight back
	// (instead of leaving them to the AckWait timer).
	w.cc.Drain()
	if abort {
		w.cancel()
	}
}

func (w *worker) wait() { w.wg.Wait() }

// onMsg is called by the consumer, one message at a time, in delivery
// order. Unordered endpoints handle every job concurrently (bounded by the
// consumer's MaxAckPending); ordered ones queue jobs per group and handle
// each group's queue in order.
func (w *worker) onMsg(msg jetstream.Msg) {
	ep, ok := w.ws.cfg.View.Get(w.id)
	w.mu.Lock()
	defer w.mu.Unlock()
	// Held from here until settled: the lease keeps it in progress.
	l := newLease(msg, w.ws.cfg.AckWait, w.ws.cfg.Clock)
	if l.metaError != nil {
		w.log.Error().Err(l.metaError).Msg("delivery job without metadata; handed back")
		_ = l.Nak()
		return
	}
	if w.stopped {
		w.d.GiveBack(l)
		_ = l.Nak()
		return
	}
	if !ok || !ep.Ordered {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.d.Deliver(w.ctx, l)
		}()
		return
	}
	subj := msg.Subject()
	q, running := w.lanes[subj]
	w.lanes[subj] = append(q, l)
	if !running {
		w.wg.Add(1)
		go w.lane(subj)
	}
}

func (w *worker) lane(subj string) {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		q := w.lanes[subj]
		if len(q) == 0 {
			delete(w.lanes, subj)
			w.mu.Unlock()
			return
		}
		l := q[0]
		w.lanes[subj] = q[1:]
		w.mu.Unlock()
		w.d.Deliver(w.ctx, l)
	}
}
