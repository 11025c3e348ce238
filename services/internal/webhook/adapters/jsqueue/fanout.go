package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
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

// consumer creates or updates the fan-out's durable pull consumer. A
// consumer left by an earlier version (Watermill's push consumer) is
// replaced by one that continues after its acknowledgement floor.
func (f *Fanout) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s, err := f.js.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       FanoutDurable,
		Description:   "Roster webhook fan-out: commits -> delivery jobs",
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       f.cfg.AckWait,
		MaxDeliver:    -1,
		// Room for the batch being fanned out and the next one prefetched.
		MaxAckPending:  2 * f.cfg.Batch,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{fanoutGroup},
		// A new dispatcher is pinned only after every commit the previous
		// one held has passed its AckWait and waits in the redelivery
		// queue, which the server serves before newer commits: per-group
		// order survives a failover (ADR 0010).
		PinnedTTL: f.pinnedTTL(),
	}
	c, err := s.Consumer(ctx, FanoutDurable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = s.CreateConsumer(ctx, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			c, err = s.Consumer(ctx, FanoutDurable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fan-out consumer: %w", err)
	}
	info := c.CachedInfo()
	if info.Config.PriorityPolicy == jetstream.PriorityPolicyPinned && info.Config.DeliverSubject == "" {
		cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
		if info.Config.AckWait == cfg.AckWait && info.Config.MaxAckPending == cfg.MaxAckPending && info.Config.PinnedTTL == cfg.PinnedTTL {
			return c, nil
		}
		if c, err = s.UpdateConsumer(ctx, cfg); err != nil {
			return nil, fmt.Errorf("fan-out consumer: %w", err)
		}
		return c, nil
	}
	// Upgrade from the push consumer: continue after what it acknowledged
	// (commits past the floor are fanned out again; their jobs are
	// deduplicated or find their attempt state settled).
	if err := s.DeleteConsumer(ctx, FanoutDurable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("fan-out consumer upgrade: %w", err)
	}
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, info.AckFloor.Stream+1
	f.cfg.Log.Info().Uint64("start_seq", cfg.OptStartSeq).Msg("webhook fan-out consumer upgraded to a pinned pull consumer")
	if c, err = s.CreateConsumer(ctx, cfg); err != nil {
		return nil, fmt.Errorf("fan-out consumer upgrade: %w", err)
	}
	return c, nil
}

func (f *Fanout) pullExpiry() time.Duration {
	return max(time.Second, min(5*time.Second, f.cfg.AckWait/2))
}

// pinnedTTL exceeds a pull request's life plus AckWait: every commit a
// silent dispatcher still held is redeliverable before anyone else is
// pinned.
func (f *Fanout) pinnedTTL() time.Duration {
	return f.cfg.AckWait + f.pullExpiry() + 2*time.Second
}

// unpin hands the fan-out over at once when this dispatcher stops cleanly
// and is still the pinned one: it has given back every commit it held, so
// the next dispatcher may start without waiting out PinnedTTL (ADR 0026).
// A dispatcher that dies is unpinned by the server after PinnedTTL.
func (f *Fanout) unpin(ctx context.Context, pinID string) {
	if pinID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s, err := f.js.Stream(ctx, events.StreamName)
	if err != nil {
		return
	}
	c, err := s.Consumer(ctx, FanoutDurable)
	if err != nil {
		return
	}
	for _, g := range c.CachedInfo().PriorityGroups {
		if g.Group == fanoutGroup && g.PinnedClientID == pinID {
			if err := s.UnpinConsumer(ctx, FanoutDurable, fanoutGroup); err != nil {
				f.cfg.Log.Debug().Err(err).Msg("unpinning the webhook fan-out")
			}
			return
		}
	}
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

// Headers of a parked commit (Watermill's poison queue names, kept for
// readers of ROSTER_WEBHOOK_POISON).
const (
	hdrPoisonReason  = "reason_poisoned"
	hdrPoisonSubject = "topic_poisoned"
)

func (f *Fanout) poison(ctx context.Context, cm jetstream.Msg, cause error) error {
	f.cfg.Log.Error().Err(cause).Str("subject", cm.Subject()).Msg("webhook fan-out: commit parked on " + PoisonStream)
	m := nats.NewMsg(PoisonSubject)
	m.Data = cm.Data()
	for k, vs := range cm.Headers() {
		if k == nats.MsgIdHdr || k == pinIDHeader {
			continue
		}
		m.Header[k] = vs
	}
	m.Header.Set(hdrPoisonReason, cause.Error())
	m.Header.Set(hdrPoisonSubject, cm.Subject())
	if _, err := f.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("park commit on %s: %w", PoisonStream, err)
	}
	return nil
}

// keepInProgress marks the batch's commits in progress every AckWait/3
// until the returned stop is called (which waits for the heartbeat to
// end), so a short AckWait bounds only how long a dead dispatcher's
// commits wait (ADR 0026). touched is when they were last marked.
func (f *Fanout) keepInProgress(batch []jetstream.Msg, touched *atomic.Int64) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := f.cfg.Clock.NewTicker(f.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.Chan():
			}
			for _, cm := range batch {
				_ = cm.InProgress()
			}
			touched.Store(f.cfg.Clock.Now().UnixNano())
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// publish stores every message of one wave, retrying the failed ones
// until all are stored or ctx ends. A batch whose commits were last marked
// in progress longer than AckWait ago (the process stalled) is abandoned.
func (f *Fanout) publish(ctx context.Context, wave []*nats.Msg, touched *atomic.Int64) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		if f.cfg.Clock.Since(time.Unix(0, touched.Load())) > f.cfg.AckWait {
			return errBatchStale
		}
		futs := make([]jetstream.PubAckFuture, len(wave))
		var failed []*nats.Msg
		var lastErr error
		waited := 0
		// await collects the outcome of futs[waited:upto].
		await := func(upto int) error {
			for ; waited < upto; waited++ {
				fut := futs[waited]
				if fut == nil {
					continue
				}
				select {
				case <-fut.Ok():
				case err := <-fut.Err():
					failed, lastErr = append(failed, wave[waited]), err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		for i, nm := range wave {
			// At most fanoutWindow unacknowledged publishes (nats.go
			// stalls, then fails, past its own limit).
			if err := await(i - fanoutWindow); err != nil {
				return err
			}
			// A fresh message each time: nats.go sets the reply subject.
			fut, err := f.js.PublishMsgAsync(&nats.Msg{Subject: nm.Subject, Header: nm.Header, Data: nm.Data})
			if err != nil {
				failed, lastErr = append(failed, nm), err
				continue
			}
			futs[i] = fut
		}
		if err := await(len(wave)); err != nil {
			return err
		}
		if len(failed) == 0 {
			f.cfg.Enqueued(len(wave))
			return nil
		}
		f.cfg.Log.Warn().Err(lastErr).Int("failed", len(failed)).Int("jobs", len(wave)).Msg("storing delivery jobs; retrying")
		f.cfg.Enqueued(len(wave) - len(failed))
		wave = failed
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.cfg.Clock.After(delay):
		}
	}
}
