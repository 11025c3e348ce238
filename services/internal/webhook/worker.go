package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// worker consumes one endpoint's jobs through its own durable pull
// consumer, so a slow, failing or paused endpoint never delays another.
type worker struct {
	d      *Dispatcher
	id     string
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	cc     jetstream.ConsumeContext
	// handle is the job handler wrapped in Watermill middleware.
	handle message.HandlerFunc

	mu      sync.Mutex
	stopped bool
	lanes   map[string][]jetstream.Msg // ordered endpoints: queued jobs per subject (group)
	health  delivery.Health
	limiter *rate.Limiter
	limit   float64
	wg      sync.WaitGroup
	// slots bounds the endpoint's HTTP attempts in flight to Concurrency;
	// the consumer hands out more jobs than that (prefetch) so that the
	// JetStream round trips of one job overlap another's HTTP attempt.
	slots chan struct{}
}

// prefetch is how many jobs per HTTP slot an endpoint's consumer may have
// outstanding (MaxAckPending = prefetch x Concurrency).
const prefetch = 8

type msgKey struct{}

// startWorker starts consuming endpoint id's jobs.
func (d *Dispatcher) startWorker(ctx context.Context, id string) (*worker, error) {
	cons, err := d.ensureConsumer(ctx, id)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{d: d, id: id, ctx: wctx, cancel: cancel, lanes: map[string][]jetstream.Msg{},
		log: d.log.With().Str("endpoint_id", id).Logger(), slots: make(chan struct{}, d.cfg.Concurrency)}
	// Watermill's middleware runs the job handling: a panic becomes an
	// error (the job is retried later, the worker lives on).
	w.handle = middleware.Recoverer(w.core)
	w.cc, err = cons.Consume(w.onMsg,
		jetstream.PullMaxMessages(prefetch*d.cfg.Concurrency),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if !errors.Is(err, jetstream.ErrNoHeartbeat) {
				w.log.Debug().Err(err).Msg("consume")
			}
		}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("consume %s: %w", consumerName(id), err)
	}
	return w, nil
}

// ensureConsumer creates or updates endpoint id's durable consumer.
func (d *Dispatcher) ensureConsumer(ctx context.Context, id string) (jetstream.Consumer, error) {
	cons, err := d.deliveries.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName(id),
		Description:   "Roster webhook deliveries of endpoint " + id,
		FilterSubject: DeliverySubjectPrefix + id + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: prefetch * d.cfg.Concurrency,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", consumerName(id), err)
	}
	return cons, nil
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
	ep, ok := w.d.cache.Get(w.id)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		w.giveBack(msg)
		_ = msg.Nak()
		return
	}
	// Held from here until settled: the lease keeps it in progress.
	msg = newLease(msg, w.d.cfg.AckWait)
	if !ok || !ep.Ordered {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(msg)
		}()
		return
	}
	subj := msg.Subject()
	q, running := w.lanes[subj]
	w.lanes[subj] = append(q, msg)
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
		msg := q[0]
		w.lanes[subj] = q[1:]
		w.mu.Unlock()
		w.run(msg)
	}
}

// run passes msg through the middleware chain; an error left over (a
// recovered panic) retries the job later.
func (w *worker) run(msg jetstream.Msg) {
	wm := message.NewMessage(msg.Headers().Get("Nats-Msg-Id"), msg.Data())
	wm.SetContext(context.WithValue(w.ctx, msgKey{}, msg))
	if _, err := w.handle(wm); err != nil {
		w.log.Error().Err(err).Str("subject", msg.Subject()).Msg("delivery job failed; retrying later")
		_ = msg.NakWithDelay(w.d.cfg.MaxHoldDelay)
	}
}

// core handles one job: hold it, deliver it, or retire it. It decides
// acknowledgement itself because JetStream's per-message NakWithDelay
// carries the retry schedule.
func (w *worker) core(wm *message.Message) ([]*message.Message, error) {
	msg := wm.Context().Value(msgKey{}).(jetstream.Msg)
	ctx := w.ctx
	d := w.d
	var j job
	if err := json.Unmarshal(msg.Data(), &j); err != nil {
		w.log.Error().Err(err).Msg("undecodable delivery job: terminated")
		return nil, msg.Term()
	}
	ep, ok := d.cache.Get(j.EndpointID)
	if !ok {
		return nil, msg.Ack() // the endpoint was deleted
	}
	meta, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	seq, nd := meta.Sequence.Stream, meta.NumDelivered
	// handBack returns the job unsent: the next delivery of this attempt
	// is not a repeat on its account.
	handBack := func(delay time.Duration) error {
		w.d.given.add(seq, nd)
		if delay == 0 {
			return msg.Nak()
		}
		return msg.NakWithDelay(delay)
	}
	if ep.Paused() {
		// Held, not dropped: the consumer stops while paused and the job
		// comes back after resume.
		return nil, handBack(d.cfg.HoldDelay)
	}
	if ep.Ordered {
		if hold, delay := w.heldBack(ctx, msg.Subject(), seq); hold {
			d.metrics.held.Inc()
			return nil, handBack(delay)
		}
	}
	key := j.stateKey()
	// A fresh job has no state to read (job.fresh): one KV round trip
	// less on the common path.
	var (
		st  jobState
		rev uint64
	)
	if !j.fresh(nd) {
		if st, rev, err = d.jobs.get(ctx, key); err != nil {
			return nil, handBack(d.cfg.HoldDelay)
		}
	}
	switch {
	case st.Generation != j.Generation && rev != 0 && !st.terminal():
		// Another series for this event is still live (a redelivery of an
		// event not yet settled): that one delivers it.
		w.d.given.forget(seq)
		return nil, msg.Ack()
	case st.Generation != j.Generation:
		st = jobState{Generation: j.Generation}
	case st.terminal():
		w.d.given.forget(seq)
		return nil, msg.DoubleAck(ctx) // settled earlier: the ack was lost
	}
	now := d.cfg.Now()
	if st.NextAttemptAt != nil && st.NextAttemptAt.After(now) {
		// Redelivered early (a restart, an AckWait expiry): wait out the
		// schedule.
		return nil, handBack(st.NextAttemptAt.Sub(now))
	}
	if err := w.throttle(ctx, ep); err != nil {
		return nil, handBack(0)
	}
	if err := w.acquire(ctx); err != nil {
		return nil, handBack(0)
	}
	trigger := j.Trigger
	if trigger == TriggerScheduled && ep.ResumedAt != nil && ep.ResumedAt.After(j.EnqueuedAt) {
		trigger = TriggerResume
	}
	attempt := st.Attempts + 1
	// Decided before the request: an earlier delivery of this same
	// attempt whose outcome was never saved may have sent it already.
	repeat := w.d.given.repeat(seq, nd, st.savedDelivery(seq))
	o := d.send(ctx, ep, j.Event)
	<-w.slots
	if o.canceled {
		// Shutting down: not an attempt to record. The request may have
		// reached the receiver, so this is not a clean hand-back.
		return nil, msg.Nak()
	}
	now = d.cfg.Now()
	next := jobState{Generation: st.Generation, Attempts: attempt, LastClass: string(o.verdict.Class), UpdatedAt: now.UTC(),
		Seq: seq, Delivery: nd}
	var delay time.Duration
	if o.verdict.Success {
		next.State = StateSucceeded
	} else {
		ra := delivery.RetryAfter(o.resp.Status, o.resp.Headers, now)
		dl, again := ep.Policy(d.cfg.Retry).Next(attempt, ra, d.cfg.Rand)
		if again {
			at := now.Add(dl).UTC()
			next.State, next.NextAttemptAt, delay = StateRetrying, &at, dl
		} else {
			next.State = StateExhausted
		}
	}
	// Record first, then save state, then acknowledge. Every HTTP request
	// has its own row (the id names the JetStream delivery that sent it):
	// a crash before the save repeats this attempt in a later delivery,
	// which records a second row marked as a repeat (ADR 0026).
	a := attemptRecord{id: attemptID(j, attempt, nd), attempt: attempt, trigger: trigger, repeat: repeat,
		next: next.NextAttemptAt, state: next.State}
	if err := d.record(ctx, ep, j.Event, a, o); err != nil {
		// Not acknowledged without its audit record: the job comes back
		// and repeats the attempt (the request was sent: a repeat).
		w.log.Warn().Err(err).Str("event_id", j.Event.ID).Msg("recording attempt")
		return nil, msg.NakWithDelay(d.cfg.HoldDelay)
	}
	// A first attempt that succeeded needs no state: the acknowledgement
	// (DoubleAck: confirmed) retires the job, and until it is confirmed a
	// redelivered job finds no state and repeats attempt 1, exactly as a
	// crash before the save would (ADR 0013). State that exists (earlier
	// failures, another generation's check) is always brought to its
	// terminal value.
	if !(rev == 0 && next.State == StateSucceeded) {
		if err := d.jobs.put(ctx, key, next, rev); err != nil {
			w.log.Warn().Err(err).Str("event_id", j.Event.ID).Msg("saving attempt state")
			return nil, msg.NakWithDelay(d.cfg.HoldDelay)
		}
	}
	w.d.given.forget(seq)
	w.observe(ctx, ep, o)
	switch next.State {
	case StateSucceeded:
		return nil, w.retire(ctx, msg, ep)
	case StateExhausted:
		w.log.Warn().Str("event_id", j.Event.ID).Int("attempts", attempt).Str("class", next.LastClass).
			Msg("delivery exhausted; redeliver to send it again")
		return nil, w.retire(ctx, msg, ep)
	}
	return nil, msg.NakWithDelay(delay)
}

// giveBack notes that msg goes back unsent (the worker is stopping).
func (w *worker) giveBack(msg jetstream.Msg) {
	if meta, err := msg.Metadata(); err == nil {
		w.d.given.add(meta.Sequence.Stream, meta.NumDelivered)
	}
}

// retire acknowledges a settled job. Ordered endpoints wait for the
// server's confirmation, so the group's next job sees the deletion
// (ADR 0012); elsewhere a lost ack only redelivers the job, which then
// repeats its last attempt under the same attempt id or, when its state
// was saved, finds it settled (ADR 0013).
func (w *worker) retire(ctx context.Context, msg jetstream.Msg, ep endpoint.Endpoint) error {
	if ep.Ordered {
		return msg.DoubleAck(ctx)
	}
	return msg.Ack()
}

// acquire waits for one of the endpoint's HTTP slots (the job's lease
// keeps it in progress meanwhile).
func (w *worker) acquire(ctx context.Context) error {
	select {
	case w.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heldBack reports whether an earlier job of the same subject (endpoint
// and group) is still queued: the work queue deletes a job when it is
// acknowledged, so the subject's first message is its oldest unsettled
// job. The delay follows that job's own schedule.
func (w *worker) heldBack(ctx context.Context, subject string, seq uint64) (bool, time.Duration) {
	d := w.d
	head, err := d.deliveries.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
	if err != nil || head.Sequence >= seq {
		return false, 0
	}
	delay := d.cfg.HoldDelay
	var hj job
	if json.Unmarshal(head.Data, &hj) == nil {
		if st, _, err := d.jobs.get(ctx, hj.stateKey()); err == nil && st.NextAttemptAt != nil {
			if until := st.NextAttemptAt.Sub(d.cfg.Now()); until > delay {
				delay = until + d.cfg.HoldDelay
			}
		}
	}
	return true, min(delay, d.cfg.MaxHoldDelay)
}

// throttle applies the endpoint's rate limit (the job's lease keeps it in
// progress while it waits its turn).
func (w *worker) throttle(ctx context.Context, ep endpoint.Endpoint) error {
	w.mu.Lock()
	if ep.RateLimit != w.limit || (w.limiter == nil && ep.RateLimit > 0) {
		w.limit = ep.RateLimit
		w.limiter = nil
		if ep.RateLimit > 0 {
			w.limiter = rate.NewLimiter(rate.Limit(ep.RateLimit), max(1, int(ep.RateLimit)))
		}
	}
	l := w.limiter
	w.mu.Unlock()
	if l == nil {
		return nil
	}
	r := l.Reserve()
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	at := time.NewTimer(delay)
	defer at.Stop()
	select {
	case <-at.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// observe feeds the health policy and pauses the endpoint when it says so
// (and at once on 410 Gone, as Standard Webhooks recommends).
func (w *worker) observe(ctx context.Context, ep endpoint.Endpoint, o outcome) {
	w.mu.Lock()
	pause, reason := w.health.Observe(o.verdict.Success, w.d.cfg.Now(), w.d.cfg.Health)
	w.mu.Unlock()
	if o.resp.Status == http.StatusGone {
		pause, reason = true, "receiver answered 410 Gone"
	}
	if !pause {
		return
	}
	if o.verdict.Class != delivery.ClassNone {
		reason += " (last: " + string(o.verdict.Class) + ")"
	}
	if err := w.d.autoPause(ctx, ep.ID, reason); err != nil {
		w.log.Error().Err(err).Msg("automatic pause failed")
	}
}
