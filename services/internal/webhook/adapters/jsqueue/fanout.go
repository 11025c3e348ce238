package jsqueue

import (
	"context"
	"errors"
	"fmt"
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

// pinIDHeader carries the pin id on messages of a pinned consumer.
const pinIDHeader = "Nats-Pin-Id"

// FanoutConfig configures Fanout.
type FanoutConfig struct {
	// NC is the process's connection: the fan-out makes its own
	// JetStream context on it (its asynchronous publish window).
	NC *nats.Conn
	// FanOut turns one commit into jobs (app.App.FanOut).
	FanOut func(c app.Commit, refanned bool) ([]app.OutJob, error)
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
	var touched atomic.Int64
	touched.Store(f.cfg.Clock.Now().UnixNano())
	stopBeat := f.keepInProgress(batch, &touched)
	defer stopBeat()
	var waves [][]*nats.Msg
	perSubject := map[string]int{}
	for _, cm := range batch {
		jobs, err := f.commit(ctx, cm)
		if err != nil {
			// Not permanent (those went to the poison stream): retry the
			// batch later rather than skip a commit.
			return fmt.Errorf("fan-out of commit: %w", err)
		}
		for _, j := range jobs {
			nm := nats.NewMsg(DeliverySubject(j.EndpointID, j.GroupID))
			nm.Data = j.Body
			nm.Header.Set(nats.MsgIdHdr, j.MsgID)
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

// commit fans out one commit. A commit that can never be read (or that
// panics the fan-out) is parked on the poison stream and yields no jobs,
// so it does not stall the fan-out; only a failure to park it is an error.
func (f *Fanout) commit(ctx context.Context, cm jetstream.Msg) (jobs []app.OutJob, err error) {
	meta, err := cm.Metadata()
	if err != nil {
		return nil, err // not a JetStream message: retried, never parked
	}
	defer func() {
		if p := recover(); p != nil {
			jobs, err = nil, f.poison(ctx, cm, fmt.Errorf("panic: %v", p))
		}
	}()
	c, _, derr := decodeCommit(f.cfg.Log, cm)
	if derr != nil {
		return nil, f.poison(ctx, cm, derr)
	}
	jobs, err = f.cfg.FanOut(c, meta.NumDelivered > 1)
	if err != nil {
		return nil, f.poison(ctx, cm, err)
	}
	return jobs, nil
}
