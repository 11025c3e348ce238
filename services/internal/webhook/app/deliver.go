package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/rosterhq/roster/services/internal/runners"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Deliverer delivers one endpoint's jobs: it holds the endpoint's health
// record, rate limiter and HTTP slots. A worker makes one when it starts
// consuming the endpoint's queue (so a resumed endpoint starts with a
// clean health record) and hands it every job; Deliver is safe to call
// concurrently.
type Deliverer struct {
	a   *App
	id  string
	log zerolog.Logger
	// slots bounds the endpoint's HTTP attempts in flight to Concurrency;
	// the queue hands out more jobs than that (prefetch) so that the
	// round trips of one job overlap another's HTTP attempt.
	slots chan struct{}
	// batches bounds the units of the endpoint's batched jobs being
	// worked on at once (unordered endpoints, ADR 0104): a job's units are
	// retired only by its one acknowledgement, so every unit in progress
	// is a request a crash may send again. The bound is in units, not
	// jobs, so that small jobs still fill the HTTP slots.
	batches *semaphore.Weighted
	// runners runs a batch's units on reused goroutines (batch.go).
	runners *runners.Pool

	mu       sync.Mutex
	health   delivery.Health
	limiter  *rate.Limiter
	limit    float64
	signers  signerCache
	redacted redactedURL
}

// Deliverer returns a Deliverer for endpoint id.
func (a *App) Deliverer(id string) *Deliverer {
	return &Deliverer{a: a, id: id, log: a.log.With().Str("endpoint_id", id).Logger(), slots: make(chan struct{}, a.cfg.Concurrency),
		batches: semaphore.NewWeighted(int64(max(unitsInProgress, a.cfg.Concurrency))), runners: runners.New(runnerIdle)}
}

// GiveBack notes that msg goes back to the queue unsent (the worker is
// stopping): the next delivery of this attempt is not a repeat on its
// account. The caller settles msg.
func (d *Deliverer) GiveBack(msg JobMsg) { d.a.given.add(msg.Seq(), msg.NumDelivered()) }

// Deliver handles one job: it holds it (paused endpoint, an earlier job
// of its group still queued, early for its schedule), attempts it, or
// retires it; a failed attempt is retried by settling the job with the
// delay the retry policy gives (JetStream's per-message NakWithDelay
// carries the schedule). ctx ending cancels the attempt. A panic is
// recovered: the job is retried later and the worker lives on.
func (d *Deliverer) Deliver(ctx context.Context, msg JobMsg) {
	defer func() {
		if p := recover(); p != nil {
			d.log.Error().Str("panic", fmt.Sprint(p)).Str("subject", msg.Subject()).Msg("delivery job failed; retrying later")
			_ = msg.NakWithDelay(d.a.cfg.MaxHoldDelay)
		}
	}()
	if err := d.deliver(ctx, msg); err != nil {
		d.log.Debug().Err(err).Str("subject", msg.Subject()).Msg("settling delivery job")
	}
}

func (d *Deliverer) deliver(ctx context.Context, msg JobMsg) error {
	a := d.a
	cfg := &a.cfg
	j, err := decodeJob(msg.Data())
	if err != nil {
		d.log.Error().Err(err).Msg("undecodable delivery job: terminated")
		return msg.Term()
	}
	ep, ok := cfg.View.Get(j.EndpointID)
	if !ok {
		return msg.Ack() // the endpoint was deleted
	}
	seq, nd := msg.Seq(), msg.NumDelivered()
	if ep.Paused() {
		// Held, not dropped: the worker stops while paused and the job
		// comes back after resume.
		return d.handBack(msg, cfg.HoldDelay)
	}
	if ep.Ordered {
		if hold, delay := d.heldBack(ctx, msg.Subject(), seq); hold {
			cfg.Metrics.Held.Inc()
			return d.handBack(msg, delay)
		}
	}
	if len(j.More) > 0 {
		us := j.Units()
		if ep.Format != endpoint.FormatOpenIM {
			us = unbatched(us)
		}
		if ep.Ordered {
			return d.deliverRun(ctx, msg, j, us, ep)
		}
		return d.deliverSet(ctx, msg, j, us, ep)
	}
	if len(j.Batch) > 0 && ep.Format != endpoint.FormatOpenIM {
		// A batch made for the openim format, whose endpoint has since
		// changed format: its events become jobs of their own (under the
		// MsgIDs the fan-out would have given them), this one delivers
		// Event alone.
		if err := d.unbatch(ctx, j); err != nil {
			d.log.Warn().Err(err).Str("event_id", j.Event.ID).Msg("splitting a kick batch")
			return d.handBack(msg, cfg.HoldDelay)
		}
		j.Batch = nil
	}
	o := d.attempt(ctx, ep, j, seq, nd, j.fresh(nd))
	switch o.res {
	case unitSettled:
		a.given.forget(seq)
		switch {
		case o.before:
			return msg.DoubleAck(ctx) // settled earlier: the ack was lost
		case o.other:
			return msg.Ack()
		}
		return retire(ctx, msg, ep)
	case unitRetrying:
		// The retry: the queue hands the job back after the policy's delay
		// (retry.go).
		a.given.forget(seq)
		return msg.NakWithDelay(o.delay)
	}
	return d.settlePending(msg, o)
}

// handBack returns a job unsent: the next delivery of this attempt is not
// a repeat on its account.
func (d *Deliverer) handBack(msg JobMsg, delay time.Duration) error {
	d.a.given.add(msg.Seq(), msg.NumDelivered())
	if delay == 0 {
		return msg.Nak()
	}
	return msg.NakWithDelay(delay)
}

// settlePending hands back a job whose unit o is still to do.
func (d *Deliverer) settlePending(msg JobMsg, o unitOutcome) error {
	switch {
	case o.canceled:
		// Shutting down: the request may have reached the receiver, so
		// this is not a clean hand-back.
		return msg.Nak()
	case o.sent:
		// Sent but its outcome not kept (audit record or state): the job
		// comes back and repeats the attempt (a repeat).
		return msg.NakWithDelay(d.a.cfg.HoldDelay)
	}
	return d.handBack(msg, o.delay)
}

// unitResult is what an attempt at one unit left to do.
type unitResult int

const (
	// unitSettled: nothing left (succeeded, exhausted, settled earlier,
	// or delivered by another series).
	unitSettled unitResult = iota
	// unitRetrying: failed, state saved; retry after delay.
	unitRetrying
	// unitPending: still to do, nothing saved (not attempted: early for
	// its schedule, throttled, state unreadable; or sent and its outcome
	// not kept, or canceled by shutdown).
	unitPending
)

type unitOutcome struct {
	res   unitResult
	delay time.Duration
	// sent: an HTTP request went out (canceled: and shutdown cut it off).
	sent, canceled bool
	// before: the unit was settled by an earlier delivery; other: another
	// generation's live series delivers it.
	before, other bool
}

// attempt handles one unit, as a single-unit job j held as delivery nd of
// queue message seq: it reads the unit's attempt state (unless fresh),
// sends the attempt when due, records it, and saves the state it leaves
// when any is needed.
func (d *Deliverer) attempt(ctx context.Context, ep endpoint.Endpoint, j Job, seq, nd uint64, fresh bool) unitOutcome {
	a := d.a
	cfg := &a.cfg
	// A batched job's later units may come after a pause or a deletion
	// that arrived while its earlier ones went out.
	switch cur, ok := cfg.View.Get(ep.ID); {
	case !ok:
		return unitOutcome{res: unitSettled, other: true} // deleted: its jobs are dropped
	case cur.Paused():
		return unitOutcome{res: unitPending, delay: cfg.HoldDelay}
	}
	key := j.StateKey()
	// A fresh job has no state to read (Job.fresh): one KV round trip
	// less on the common path.
	var (
		st  JobState
		rev uint64
		err error
	)
	if !fresh {
		if st, rev, err = cfg.States.Get(ctx, key); err != nil {
			return unitOutcome{res: unitPending, delay: cfg.HoldDelay}
		}
	}
	switch {
	case st.Generation != j.Generation && rev != 0 && !st.terminal():
		// Another series for this event is still live (a redelivery of an
		// event not yet settled): that one delivers it.
		return unitOutcome{res: unitSettled, other: true}
	case st.Generation != j.Generation:
		st = JobState{Generation: j.Generation}
	case st.terminal():
		return unitOutcome{res: unitSettled, before: true}
	}
	now := a.now()
	if st.NextAttemptAt != nil && st.NextAttemptAt.After(now) {
		// Redelivered early (a restart, an AckWait expiry): wait out the
		// schedule.
		return unitOutcome{res: unitPending, delay: st.NextAttemptAt.Sub(now)}
	}
	if err := d.throttle(ctx, ep); err != nil {
		return unitOutcome{res: unitPending}
	}
	if err := d.acquire(ctx); err != nil {
		return unitOutcome{res: unitPending}
	}
	trigger := j.Trigger
	if trigger == TriggerScheduled && ep.ResumedAt != nil && ep.ResumedAt.After(j.EnqueuedAt) {
		trigger = TriggerResume
	}
	attempt := st.Attempts + 1
	// Decided before the request: an earlier delivery of this same
	// attempt whose outcome was never saved may have sent it already.
	repeat := a.given.repeat(seq, nd, st.savedDelivery(seq))
	if j.Refanned && rev == 0 {
		// Its commit was fanned out before and the fan-out batched it
		// afresh (ADR 0104): another copy of the job, under another
		// MsgID, may have sent this request already.
		repeat = true
	}
	o := a.send(ctx, ep, d.signer, j.Event, j.Batch...)
	<-d.slots
	if o.canceled {
		// Shutting down: not an attempt to record.
		return unitOutcome{res: unitPending, sent: true, canceled: true}
	}
	next, delay := a.nextState(ep, st, attempt, o)
	next.Seq, next.Delivery = seq, nd
	// Record first, then save state, then acknowledge. Every HTTP request
	// has its own row (the id names the queue delivery that sent it): a
	// crash before the save repeats this attempt in a later delivery,
	// which records a second row marked as a repeat (ADR 0026).
	rec := attemptRecord{id: attemptID(j, attempt, nd), attempt: attempt, trigger: trigger, repeat: repeat,
		next: next.NextAttemptAt, state: next.State, redactedURL: d.redactURL(o.url)}
	if err := a.record(ctx, ep, j.Event, rec, o); err != nil {
		// Not acknowledged without its audit record: the unit comes back
		// and repeats the attempt (the request was sent: a repeat).
		d.log.Warn().Err(err).Str("event_id", j.Event.ID).Msg("recording attempt")
		return unitOutcome{res: unitPending, sent: true}
	}
	// A first attempt that succeeded needs no state: the acknowledgement
	// (DoubleAck: confirmed) retires the job, and until it is confirmed a
	// redelivered job finds no state and repeats attempt 1, exactly as a
	// crash before the save would (ADR 0013). State that exists (earlier
	// failures, another generation's check) is always brought to its
	// terminal value.
	if !(rev == 0 && next.State == StateSucceeded) {
		if err := cfg.States.Put(ctx, key, next, rev); err != nil {
			d.log.Warn().Err(err).Str("event_id", j.Event.ID).Msg("saving attempt state")
			return unitOutcome{res: unitPending, sent: true}
		}
	}
	d.observe(ctx, ep, o)
	switch next.State {
	case StateSucceeded:
		return unitOutcome{res: unitSettled, sent: true}
	case StateExhausted:
		d.log.Warn().Str("event_id", j.Event.ID).Int("attempts", attempt).Str("class", next.LastClass).
			Msg("delivery exhausted; redeliver to send it again")
		return unitOutcome{res: unitSettled, sent: true}
	}
	return unitOutcome{res: unitRetrying, sent: true, delay: delay}
}

// unbatch enqueues each event batched with j's as a job of its own.
func (d *Deliverer) unbatch(ctx context.Context, j Job) error {
	for _, ev := range j.Batch {
		one := j
		one.Event, one.Batch = ev, nil
		o, err := one.out(false)
		if err == nil {
			err = d.a.cfg.Queue.Enqueue(ctx, o)
		}
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", one.MsgID(), err)
		}
	}
	return nil
}

// retire acknowledges a settled job. Ordered endpoints wait for the
// queue's confirmation, so the group's next job sees the deletion
// (ADR 0012); elsewhere a lost ack only redelivers the job, which then
// repeats its last attempt under the same attempt id or, when its state
// was saved, finds it settled (ADR 0013).
func retire(ctx context.Context, msg JobMsg, ep endpoint.Endpoint) error {
	if ep.Ordered {
		return msg.DoubleAck(ctx)
	}
	return msg.Ack()
}

// acquire waits for one of the endpoint's HTTP slots (the job's lease
// keeps it in progress meanwhile).
func (d *Deliverer) acquire(ctx context.Context) error {
	select {
	case d.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heldBack reports whether an earlier job of the same subject (endpoint
// and group) is still queued: the work queue deletes a job when it is
// acknowledged, so the subject's first job is its oldest unsettled one.
// The delay follows that job's own schedule.
func (d *Deliverer) heldBack(ctx context.Context, subject string, seq uint64) (bool, time.Duration) {
	cfg := &d.a.cfg
	headSeq, body, ok, err := cfg.Queue.Head(ctx, subject)
	if err != nil || !ok || headSeq >= seq {
		return false, 0
	}
	delay := cfg.HoldDelay
	if hj, err := decodeJob(body); err == nil {
		if st, _, err := cfg.States.Get(ctx, hj.StateKey()); err == nil && st.NextAttemptAt != nil {
			if until := st.NextAttemptAt.Sub(d.a.now()); until > delay {
				delay = until + cfg.HoldDelay
			}
		}
	}
	return true, min(delay, cfg.MaxHoldDelay)
}

// throttle applies the endpoint's rate limit (the job's lease keeps it in
// progress while it waits its turn).
func (d *Deliverer) throttle(ctx context.Context, ep endpoint.Endpoint) error {
	d.mu.Lock()
	if ep.RateLimit != d.limit || (d.limiter == nil && ep.RateLimit > 0) {
		d.limit = ep.RateLimit
		d.limiter = nil
		if ep.RateLimit > 0 {
			d.limiter = rate.NewLimiter(rate.Limit(ep.RateLimit), max(1, int(ep.RateLimit)))
		}
	}
	l := d.limiter
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	r := l.ReserveN(d.a.now(), 1)
	delay := r.DelayFrom(d.a.now())
	if delay == 0 {
		return nil
	}
	at := d.a.cfg.Clock.NewTimer(delay)
	defer at.Stop()
	select {
	case <-at.Chan():
		return nil
	case <-ctx.Done():
		r.CancelAt(d.a.now())
		return ctx.Err()
	}
}

// observe feeds the health policy and pauses the endpoint when it says so
// (and at once on 410 Gone, as Standard Webhooks recommends).
func (d *Deliverer) observe(ctx context.Context, ep endpoint.Endpoint, o outcome) {
	d.mu.Lock()
	pause, reason := d.health.Observe(o.verdict.Success, d.a.now(), d.a.cfg.Health)
	d.mu.Unlock()
	if o.resp.Status == http.StatusGone {
		pause, reason = true, "receiver answered 410 Gone"
	}
	if !pause {
		return
	}
	if o.verdict.Class != delivery.ClassNone {
		reason += " (last: " + string(o.verdict.Class) + ")"
	}
	if err := d.a.autoPause(ctx, ep.ID, reason); err != nil {
		d.log.Error().Err(err).Msg("automatic pause failed")
	}
}
