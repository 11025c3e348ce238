package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// fanoutWindow is the most job publishes awaiting their acks.
const fanoutWindow = 1024

// fanoutGroup is the fan-out consumer's priority group: its members take
// turns being pinned, so one dispatcher at a time fans out.
const fanoutGroup = "fanout"

// unitsHeader carries a job's unit count from the batch to publish's
// count of stored units (roster_webhook_jobs_enqueued_total); it is
// stored with the job and read by nobody else.
const unitsHeader = "Roster-Job-Units"

// pinIDHeader carries the pin id on messages of a pinned consumer.
const pinIDHeader = "Nats-Pin-Id"

// FanoutConfig configures Fanout.
type FanoutConfig struct {
	// NC is the process's connection: the fan-out makes its own
	// JetStream context on it (its asynchronous publish window).
	NC *nats.Conn
	// FanOut turns the commits of one batch into jobs batched per
	// endpoint and group (app.App.FanOutBatch); refanned[i] says
	// commits[i] was handed out before.
	FanOut func(commits []app.Commit, refanned []bool) ([]app.OutJob, error)
	// Enqueued counts stored jobs.
	Enqueued func(n int)
	// Serving reports whether the fan-out pulls (pinned or waiting to
	// be): part of the dispatcher's readiness.
	Serving func(bool)
	Log     zerolog.Logger
	Clock   clockwork.Clock
	// Batch is the most commits fanned out together.
	Batch int
	// AckWait is the consumer's redelivery timer for a commit.
	AckWait time.Duration
}

// Fanout turns each commit of ROSTER_EVENTS into delivery jobs. nats.go
// pulls batches of commits from the pinned durable consumer
// roster_webhook_fanout (one dispatcher at a time receives commits); the
// batch's jobs are published asynchronously and the commits acknowledged
// only after JetStream stored every job (ADRs 0010, 0066).
type Fanout struct {
	cfg FanoutConfig
	js  jetstream.JetStream
}

// NewFanout returns a Fanout; Run runs it.
func NewFanout(cfg FanoutConfig) (*Fanout, error) {
	js, err := jetstream.New(cfg.NC, jetstream.WithPublishAsyncTimeout(10*time.Second),
		jetstream.WithPublishAsyncMaxPending(2*fanoutWindow))
	if err != nil {
		return nil, fmt.Errorf("fan-out jetstream: %w", err)
	}
	return &Fanout{cfg: cfg, js: js}, nil
}

// Run fans out until ctx ends, resuming after an interruption.
func (f *Fanout) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		cons, err := f.consumer(ctx)
		if err == nil {
			err = f.run(ctx, cons)
		}
		f.cfg.Serving(false)
		if err != nil && ctx.Err() == nil {
			f.cfg.Log.Warn().Err(err).Msg("webhook fan-out interrupted; resuming")
			select {
			case <-ctx.Done():
			case <-f.cfg.Clock.After(time.Second):
			}
		}
	}
	return nil
}

// errBatchStale: a batch outlived its AckWait (the process stalled); its
// commits may be someone else's now, so it is abandoned, not published.
var errBatchStale = errors.New("fan-out batch outlived its ack wait")

// run pulls commits and fans them out batch by batch, in the order the
// server delivers them (redeliveries, which are older, first), until ctx
// ends or a batch cannot be completed.
func (f *Fanout) run(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(f.cfg.Batch), jetstream.PullExpiry(f.pullExpiry()),
		jetstream.PullPriorityGroup(fanoutGroup))
	if err != nil {
		return fmt.Errorf("fan-out pull: %w", err)
	}
	f.cfg.Serving(true)
	in := make(chan jetstream.Msg, f.cfg.Batch)
	pulled := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			msg, err := it.Next()
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// A missed heartbeat (a loaded process, a server
				// failover): the iterator stays open and pulls anew, so
				// keep reading rather than restart the fan-out.
				f.cfg.Log.Debug().Err(err).Msg("fan-out pull")
				continue
			}
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					pulled <- err
				}
				return
			}
			in <- msg
		}
	}()
	var (
		batch []jetstream.Msg
		pinID string
	)
	// giveBack naks, in order, every commit this process holds, so they
	// are redelivered oldest first (to the next pinned dispatcher, which
	// may be this one) instead of waiting out AckWait.
	giveBack := func() {
		it.Stop()
		for _, m := range batch {
			_ = m.Nak()
		}
		for m := range in {
			_ = m.Nak()
		}
	}
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			giveBack()
			f.unpin(ctx, pinID)
			return nil
		case msg, ok := <-in:
			if !ok {
				it.Stop()
				select {
				case err := <-pulled:
					return fmt.Errorf("fan-out pull: %w", err)
				default:
					return errors.New("fan-out pull stopped")
				}
			}
			batch = append(batch, msg)
			if id := msg.Headers().Get(pinIDHeader); id != "" {
				pinID = id
			}
		}
	drain:
		for len(batch) < f.cfg.Batch {
			select {
			case msg, ok := <-in:
				if !ok {
					break drain
				}
				batch = append(batch, msg)
			default:
				break drain
			}
		}
		if err := f.batch(ctx, batch); err != nil {
			giveBack()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// batch fans out commits: every job is published asynchronously, in
// commit order, and the commits are acknowledged once JetStream has
// stored all of them. Jobs of ordered endpoints go out in waves (the n-th
// job of a subject in wave n, each wave stored before the next starts), so
// a failed publish retried later can never land after a later job of its
// group; jobs of unordered endpoints all go in the first wave.
func (f *Fanout) batch(ctx context.Context, batch []jetstream.Msg) error {
	// A stopping dispatcher finishes the batch it publishes (for up to
	// AckWait) rather than give it back half stored: the commits fanned
	// out again would be batched differently, under other MsgIDs, and the
	// jobs already stored delivered twice (ADR 0104).
	parent := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	stopGrace := context.AfterFunc(parent, func() {
		f.cfg.Clock.AfterFunc(f.cfg.AckWait, cancel)
	})
	defer stopGrace()
	var touched atomic.Int64
	touched.Store(f.cfg.Clock.Now().UnixNano())
	stopBeat := f.keepInProgress(batch, &touched)
	defer stopBeat()
	var waves [][]*nats.Msg
	perSubject := map[string]int{}
	jobs, err := f.jobs(ctx, batch)
	if err != nil {
		// Not permanent (those went to the poison stream): retry the
		// batch later rather than skip a commit.
		return fmt.Errorf("fan-out of commit: %w", err)
	}
	for _, j := range jobs {
		nm := nats.NewMsg(DeliverySubject(j.EndpointID, j.GroupID))
		nm.Data = j.Body
		nm.Header.Set(nats.MsgIdHdr, j.MsgID)
		nm.Header.Set(unitsHeader, strconv.Itoa(j.Units))
		w := 0
		if j.Ordered {
			w = perSubject[nm.Subject]
			perSubject[nm.Subject]++
		}
		for len(waves) <= w {
			waves = append(waves, nil)
		}
		waves[w] = append(waves[w], nm)
	}
	for _, wave := range waves {
		if err := f.publish(ctx, wave, &touched); err != nil {
			return err
		}
	}
	// No progress mark may follow an acknowledgement.
	stopBeat()
	for _, cm := range batch {
		// A lost ack redelivers the commit within the duplicate window:
		// its jobs are deduplicated by Nats-Msg-Id.
		_ = cm.Ack()
	}
	return nil
}

// jobs fans out the batch's commits together (jobs batched per endpoint
// and group, ADR 0104). A commit that can never be read is parked on the
// poison stream and yields no jobs, so it does not stall the fan-out;
// should the batch's fan-out fail or panic, each commit is fanned out on
// its own so that only the culprit is parked. Only a failure to park a
// commit is an error.
func (f *Fanout) jobs(ctx context.Context, batch []jetstream.Msg) ([]app.OutJob, error) {
	commits := make([]app.Commit, 0, len(batch))
	refanned := make([]bool, 0, len(batch))
	for _, cm := range batch {
		c, again, ok, err := f.decode(ctx, cm)
		if err != nil {
			return nil, err
		}
		if ok {
			commits, refanned = append(commits, c), append(refanned, again)
		}
	}
	if len(commits) == 0 {
		return nil, nil
	}
	if jobs, err := f.fanOut(commits, refanned); err == nil {
		return jobs, nil
	}
	var jobs []app.OutJob
	k := 0
	for _, cm := range batch {
		if k == len(commits) {
			break
		}
		meta, err := cm.Metadata()
		if err != nil || meta.Sequence.Stream != commits[k].Seq {
			continue // parked above
		}
		one, err := f.fanOut(commits[k:k+1], refanned[k:k+1])
		k++
		if err != nil {
			if err := f.poison(ctx, cm, err); err != nil {
				return nil, err
			}
			continue
		}
		jobs = append(jobs, one...)
	}
	return jobs, nil
}

// fanOut calls FanOut, turning a panic into an error.
func (f *Fanout) fanOut(commits []app.Commit, refanned []bool) (jobs []app.OutJob, err error) {
	defer func() {
		if p := recover(); p != nil {
			jobs, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return f.cfg.FanOut(commits, refanned)
}

// decode reads one commit; ok false when it could not be read and was
// parked on the poison stream (err only when parking it failed).
func (f *Fanout) decode(ctx context.Context, cm jetstream.Msg) (c app.Commit, refanned, ok bool, err error) {
	meta, err := cm.Metadata()
	if err != nil {
		return c, false, false, err // not a JetStream message: retried, never parked
	}
	defer func() {
		if p := recover(); p != nil {
			c, ok, err = app.Commit{}, false, f.poison(ctx, cm, fmt.Errorf("panic: %v", p))
		}
	}()
	c, _, derr := decodeCommit(f.cfg.Log, cm)
	if derr != nil {
		return c, false, false, f.poison(ctx, cm, derr)
	}
	return c, meta.NumDelivered > 1, true, nil
}
