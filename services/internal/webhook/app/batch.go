package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// unitsInProgress is how many units of an unordered endpoint's batched
// jobs one dispatcher works on at once (Deliverer.batches; at least the
// endpoint's HTTP concurrency): two full jobs.
const unitsInProgress = 2 * MaxJobUnits

// settleTimeout bounds the writes that settle a batched job's progress
// when the dispatcher is stopping (its context is done by then).
const settleTimeout = 5 * time.Second

// unbatched splits kick batches made for the openim format into units of
// one event each (their endpoint has since changed format), in order.
func unbatched(us []Unit) []Unit {
	out := make([]Unit, 0, len(us))
	for _, u := range us {
		out = append(out, Unit{Event: u.Event, StreamSeq: u.StreamSeq})
		for _, ev := range u.Batch {
			out = append(out, Unit{Event: ev, StreamSeq: u.StreamSeq})
		}
	}
	return out
}

// deliverRun delivers a batched job of an ordered endpoint: one group's
// units, in order, one at a time. A unit that is not settled stops the
// run, since the group's later events wait behind it: the job keeps its
// place at the head of its group (its queue subject), the number of units
// already settled is saved as the job's progress, and the job is handed
// back with the unit's delay, so its next delivery starts at that unit
// and sends none of the earlier ones again (ADR 0104). A first-attempt
// success saves nothing, so a dispatcher that dies mid-run sends the
// run's successes since the last saved progress again (at least once).
func (d *Deliverer) deliverRun(ctx context.Context, msg JobMsg, j Job, us []Unit, ep endpoint.Endpoint) error {
	a := d.a
	cfg := &a.cfg
	seq, nd := msg.Seq(), msg.NumDelivered()
	fresh := j.fresh(nd)
	pkey := j.progressKey()
	var (
		prog    JobState
		progRev uint64
	)
	if !fresh {
		var err error
		if prog, progRev, err = cfg.States.Get(ctx, pkey); err != nil {
			return d.handBack(msg, cfg.HoldDelay)
		}
	}
	start := min(prog.Done, len(us))
	for i := start; i < len(us); i++ {
		o := d.attempt(ctx, ep, j.one(us[i]), seq, nd, fresh)
		if o.res == unitSettled {
			continue
		}
		// Save how far the run got, so its next delivery starts at unit i.
		// Without it the units before i are sent again: at least once.
		saved := true
		if i > start {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
			err := cfg.States.Put(sctx, pkey, JobState{State: StateRetrying, Done: i, UpdatedAt: a.now().UTC()}, progRev)
			cancel()
			if err != nil {
				saved = false
				d.log.Warn().Err(err).Str("event_id", us[i].Event.ID).Msg("saving batch progress")
			}
		}
		switch {
		case o.res == unitRetrying:
			a.given.forget(seq)
			return msg.NakWithDelay(o.delay)
		case !o.sent && !saved:
			// Units before i were sent by this delivery and will be
			// again: not a clean hand-back.
			return msg.NakWithDelay(max(o.delay, time.Millisecond))
		}
		return d.settlePending(msg, o)
	}
	a.given.forget(seq)
	return retire(ctx, msg, ep)
}

// deliverSet delivers a batched job of an unordered endpoint: its units
// concurrently, within the endpoint's HTTP slots. Every unit that is not
// settled continues as a retry job of its own (named after its event,
// carrying its attempt state's schedule), stored before the batch is
// acknowledged, so a failed event is retried alone and the others are
// not sent again (ADR 0104). A job none of whose units could be started
// is handed back whole.
func (d *Deliverer) deliverSet(ctx context.Context, msg JobMsg, j Job, us []Unit, ep endpoint.Endpoint) error {
	a := d.a
	cfg := &a.cfg
	seq, nd := msg.Seq(), msg.NumDelivered()
	// A job larger than the budget (none is: MaxJobUnits) would wait
	// forever; it takes the whole budget instead.
	weight := min(int64(len(us)), int64(max(unitsInProgress, cfg.Concurrency)))
	if err := d.batches.Acquire(ctx, weight); err != nil {
		return d.handBack(msg, 0)
	}
	defer d.batches.Release(weight)
	fresh := j.fresh(nd)
	outs := make([]unitOutcome, len(us))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	for range min(len(us), cfg.Concurrency) {
		wg.Add(1)
		d.runners.Go(func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(us) {
					return
				}
				outs[i] = d.attempt(ctx, ep, j.one(us[i]), seq, nd, fresh)
			}
		})
	}
	wg.Wait()
	var (
		left    []Unit
		anySent bool
		delay   time.Duration
	)
	for i, o := range outs {
		anySent = anySent || o.sent
		if o.res != unitSettled {
			left = append(left, us[i])
			if delay == 0 || o.delay < delay {
				delay = o.delay
			}
		}
	}
	if len(left) == 0 {
		a.given.forget(seq)
		return msg.Ack()
	}
	if !anySent && len(left) == len(us) {
		return d.handBack(msg, delay)
	}
	if err := d.continueAlone(ctx, j, left); err != nil {
		d.log.Warn().Err(err).Int("units", len(left)).Msg("storing retry jobs of a batch")
		// The batch comes back whole: its settled units were sent and
		// are sent again (at least once); retry jobs already stored are
		// deduplicated by their MsgID when stored again.
		return msg.NakWithDelay(cfg.HoldDelay)
	}
	a.given.forget(seq)
	return msg.Ack()
}

// continueAlone stores one retry job per unit, each named after its
// event, so it keeps its state, webhook-id and schedule. The jobs are
// stored concurrently: one round trip, not one per unit.
func (d *Deliverer) continueAlone(ctx context.Context, j Job, left []Unit) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	errs := make([]error, len(left))
	var wg sync.WaitGroup
	for i, u := range left {
		one := j.one(u)
		one.Retry = true
		o, err := one.out(false)
		if err != nil {
			return fmt.Errorf("encode %s: %w", one.MsgID(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.a.cfg.Queue.Enqueue(sctx, o); err != nil {
				errs[i] = err // the queue names the job
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runnerIdle is how long a unit runner without work waits for more before
// it ends. A batch's units go to waiting runners when there are some and
// start new ones otherwise, so under load the runners, and the stacks
// they grew through the HTTP client, are reused: a goroutine per batch
// and slot spent about 4% of the dispatch benchmark's CPU growing fresh
// stacks (ADR 0115; natsx/edge does the same for requests, ADR 0101).
// Busy runners never exceed what the batches semaphore lets run; idle
// ones end after runnerIdle.
const runnerIdle = 5 * time.Second
