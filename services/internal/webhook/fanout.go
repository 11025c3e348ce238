package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// Metadata keys the fan-out uses on Watermill messages.
const (
	// mdSubject routes a produced message to its own NATS subject (the
	// router publishes all of a handler's output to one topic; the
	// marshaler below overrides it per message).
	mdSubject = "_roster_subject"
	// mdStreamSeq carries the consumed message's ROSTER_EVENTS sequence.
	mdStreamSeq = "_roster_stream_seq"
	// mdOrdered marks a job of an ordered endpoint (the fan-out stores
	// those in per-subject waves); it never reaches the stored job.
	mdOrdered = "_roster_ordered"
	// mdRefanned marks a commit the fan-out has been handed before: its
	// jobs may exist already (ADR 0013).
	mdRefanned = "_roster_refanned"
)

// marshaler is Watermill's NATS header marshaler plus per-message
// subjects (the handler's jobs go to one subject per endpoint and group).
type marshaler struct{ wmnats.NATSMarshaler }

func (m *marshaler) Marshal(topic string, msg *message.Message) (*nats.Msg, error) {
	nm, err := m.NATSMarshaler.Marshal(topic, msg)
	if err != nil {
		return nil, err
	}
	if s := msg.Metadata.Get(mdSubject); s != "" {
		nm.Subject = s
		nm.Header.Del(mdSubject)
	}
	return nm, nil
}

// permanentError marks a commit that will never be readable: it goes to
// the poison queue instead of blocking the fan-out forever.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p permanentError
	var r middleware.RecoveredPanicError
	return errors.As(err, &p) || errors.As(err, &r)
}

// fanoutWindow is the most job publishes awaiting their acks.
const fanoutWindow = 1024

// fanoutGroup is the fan-out consumer's priority group: its members take
// turns being pinned, so one dispatcher at a time fans out.
const fanoutGroup = "fanout"

// runFanout turns each commit of ROSTER_EVENTS into delivery jobs until ctx
// ends. nats.go pulls batches of commits from the pinned durable consumer
// roster_webhook_fanout (only one dispatcher receives commits at a time);
// every commit goes through the Watermill middleware chain (correlation
// id, poison queue, recoverer) into the fanout handler; the batch's jobs
// are published asynchronously and the commits acknowledged only after
// JetStream stored every job (ADR 0010).
func (d *Dispatcher) runFanout(ctx context.Context) error {
	conn, err := d.cfg.Dial()
	if err != nil {
		return fmt.Errorf("fan-out connection: %w", err)
	}
	defer conn.Close()
	js, err := jetstream.New(conn, jetstream.WithPublishAsyncTimeout(10*time.Second),
		jetstream.WithPublishAsyncMaxPending(2*fanoutWindow))
	if err != nil {
		return fmt.Errorf("fan-out jetstream: %w", err)
	}
	wlog := zerologAdapter{l: d.log.With().Str("component", "watermill").Logger()}
	m := &marshaler{}
	// The poison queue publishes through Watermill (synchronously: it is
	// the rare path). It shares the fan-out's connection and is never
	// closed on its own (closing drains the connection).
	pub, err := wmnats.NewPublisherWithNatsConn(conn, wmnats.PublisherPublishConfig{
		Marshaler:         m,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{},
	}, wlog)
	if err != nil {
		return fmt.Errorf("fan-out publisher: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(pub, PoisonSubject, isPermanent)
	if err != nil {
		return fmt.Errorf("poison queue: %w", err)
	}
	// Outermost first: correlation ids flow onto every job; a commit that
	// can never be read (or panics the handler) is parked on the poison
	// queue and acknowledged so it does not stall the fan-out.
	chain := setCorrelation(middleware.CorrelationID(poison(middleware.Recoverer(d.fanout))))
	f := &fanoutRunner{d: d, js: js, m: m, handle: chain}
	for ctx.Err() == nil {
		cons, err := d.fanoutConsumer(ctx, js)
		if err == nil {
			err = f.run(ctx, cons)
		}
		d.fanning.Store(false)
		if err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("webhook fan-out interrupted; resuming")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// fanoutConsumer creates or updates the fan-out's durable pull consumer.
// A consumer left by an earlier version (Watermill's push consumer) is
// replaced by one that continues after its acknowledgement floor.
func (d *Dispatcher) fanoutConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	s, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       FanoutDurable,
		Description:   "Roster webhook fan-out: commits -> delivery jobs",
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.cfg.FanoutAckWait,
		MaxDeliver:    -1,
		// Room for the batch being fanned out and the next one prefetched.
		MaxAckPending:  2 * d.cfg.FanoutBatch,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{fanoutGroup},
		// A new dispatcher is pinned only after every commit the previous
		// one held has passed its AckWait and waits in the redelivery
		// queue, which the server serves before newer commits: per-group
		// order survives a failover (ADR 0010).
		PinnedTTL: d.fanoutPinnedTTL(),
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
	d.log.Info().Uint64("start_seq", cfg.OptStartSeq).Msg("webhook fan-out consumer upgraded to a pinned pull consumer")
	if c, err = s.CreateConsumer(ctx, cfg); err != nil {
		return nil, fmt.Errorf("fan-out consumer upgrade: %w", err)
	}
	return c, nil
}

func (d *Dispatcher) fanoutPullExpiry() time.Duration {
	return max(time.Second, min(5*time.Second, d.cfg.FanoutAckWait/2))
}

// fanoutPinnedTTL exceeds a pull request's life plus AckWait: every commit
// a silent dispatcher still held is redeliverable before anyone else is
// pinned.
func (d *Dispatcher) fanoutPinnedTTL() time.Duration {
	return d.cfg.FanoutAckWait + d.fanoutPullExpiry() + 2*time.Second
}

// pinIDHeader carries the pin id on messages of a pinned consumer.
const pinIDHeader = "Nats-Pin-Id"

// unpin hands the fan-out over at once when this dispatcher stops cleanly
// and is still the pinned one: it has given back every commit it held, so
// the next dispatcher may start without waiting out PinnedTTL (ADR 0026).
// A dispatcher that dies is unpinned by the server after PinnedTTL.
func (f *fanoutRunner) unpin(ctx context.Context, pinID string) {
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
				f.d.log.Debug().Err(err).Msg("unpinning the webhook fan-out")
			}
			return
		}
	}
}

// fanoutRunner fans out batches of commits.
type fanoutRunner struct {
	d      *Dispatcher
	js     jetstream.JetStream
	m      *marshaler
	handle message.HandlerFunc
}

// errBatchStale: a batch outlived its AckWait (the process stalled); its
// commits may be someone else's now, so it is abandoned, not published.
var errBatchStale = errors.New("fan-out batch outlived its ack wait")

// run pulls commits and fans them out batch by batch, in the order the
// server delivers them (redeliveries, which are older, first), until ctx
// ends or a batch cannot be completed.
func (f *fanoutRunner) run(ctx context.Context, cons jetstream.Consumer) error {
	d := f.d
	it, err := cons.Messages(jetstream.PullMaxMessages(d.cfg.FanoutBatch), jetstream.PullExpiry(d.fanoutPullExpiry()),
		jetstream.PullPriorityGroup(fanoutGroup))
	if err != nil {
		return fmt.Errorf("fan-out pull: %w", err)
	}
	d.fanning.Store(true)
	in := make(chan jetstream.Msg, d.cfg.FanoutBatch)
	pulled := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			msg, err := it.Next()
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// A missed heartbeat (a loaded process, a server
				// failover): the iterator stays open and pulls anew, so
				// keep reading rather than restart the fan-out.
				d.log.Debug().Err(err).Msg("fan-out pull")
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
		for len(batch) < d.cfg.FanoutBatch {
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
func (f *fanoutRunner) batch(ctx context.Context, batch []jetstream.Msg) error {
	var touched atomic.Int64
	touched.Store(time.Now().UnixNano())
	stopBeat := f.keepInProgress(batch, &touched)
	defer stopBeat()
	var waves [][]*nats.Msg
	perSubject := map[string]int{}
	for _, cm := range batch {
		out, err := f.handle(f.watermillMsg(cm))
		if err != nil {
			// Not permanent (those went to the poison queue): retry the
			// batch later rather than skip a commit.
			return fmt.Errorf("fan-out of commit: %w", err)
		}
		for _, jm := range out {
			nm, err := f.m.Marshal("", jm)
			if err != nil {
				return fmt.Errorf("fan-out job: %w", err)
			}
			w := 0
			if jm.Metadata.Get(mdOrdered) != "" {
				w = perSubject[nm.Subject]
				perSubject[nm.Subject]++
			}
			nm.Header.Del(mdOrdered)
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

// keepInProgress marks the batch's commits in progress every
// FanoutAckWait/3 until the returned stop is called (which waits for the
// heartbeat to end), so a short FanoutAckWait bounds only how long a dead
// dispatcher's commits wait (ADR 0026). touched is when they were last
// marked.
func (f *fanoutRunner) keepInProgress(batch []jetstream.Msg, touched *atomic.Int64) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(f.d.cfg.FanoutAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			for _, cm := range batch {
				_ = cm.InProgress()
			}
			touched.Store(time.Now().UnixNano())
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// publish stores every message of one wave, retrying the failed ones
// until all are stored or ctx ends. A batch whose commits were last marked
// in progress longer than AckWait ago (the process stalled) is abandoned.
func (f *fanoutRunner) publish(ctx context.Context, wave []*nats.Msg, touched *atomic.Int64) error {
	ackWait := f.d.cfg.FanoutAckWait
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		if time.Since(time.Unix(0, touched.Load())) > ackWait {
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
			f.d.metrics.enqueued.Add(float64(len(wave)))
			return nil
		}
		f.d.log.Warn().Err(lastErr).Int("failed", len(failed)).Int("jobs", len(wave)).Msg("storing delivery jobs; retrying")
		f.d.metrics.enqueued.Add(float64(len(wave) - len(failed)))
		wave = failed
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// watermillMsg is a commit as a Watermill message, as Watermill's NATS
// unmarshaler makes it (headers become metadata), plus the stream sequence.
func (f *fanoutRunner) watermillMsg(cm jetstream.Msg) *message.Message {
	wm, err := f.m.NATSMarshaler.Unmarshal(&nats.Msg{Subject: cm.Subject(), Header: cm.Headers(), Data: cm.Data()})
	if err != nil {
		// A repeated header: keep the first values rather than stall.
		wm = message.NewMessage(cm.Headers().Get(wmnats.WatermillUUIDHdr), cm.Data())
		for k, v := range cm.Headers() {
			if len(v) > 0 && k != nats.MsgIdHdr {
				wm.Metadata.Set(k, v[0])
			}
		}
	}
	if meta, err := cm.Metadata(); err == nil {
		wm.Metadata.Set(mdStreamSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
		if meta.NumDelivered > 1 {
			wm.Metadata.Set(mdRefanned, "1")
		}
	}
	return wm
}

// setCorrelation gives a commit without a correlation id its command id,
// so every job of one command shares one id.
func setCorrelation(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if middleware.MessageCorrelationID(msg) == "" {
			middleware.SetCorrelationID(msg.Metadata.Get(eventstore.HeaderCommandID), msg)
		}
		return h(msg)
	}
}

// fanout turns one commit into one job per (event, matching endpoint).
// The runner publishes the jobs (Nats-Msg-Id = endpoint:event, so a commit
// handled twice inside the duplicate window enqueues nothing new) and
// acknowledges the commit only after every job is stored.
func (d *Dispatcher) fanout(msg *message.Message) ([]*message.Message, error) {
	c, err := eventstore.DecodeCommit(msg.Payload)
	if err != nil {
		return nil, permanentError{err}
	}
	seq, _ := strconv.ParseUint(msg.Metadata.Get(mdStreamSeq), 10, 64)
	refanned := msg.Metadata.Get(mdRefanned) != ""
	eps := d.cache.All()
	now := d.cfg.Now().UTC()
	var out []*message.Message
	for _, ev := range c.Events {
		if up, err := events.Upcast(ev); err == nil {
			ev = up
		} else {
			d.log.Warn().Err(err).Str("event_id", ev.ID).Msg("delivering event as stored: cannot upcast")
		}
		for _, ep := range eps {
			if seq <= ep.StartSeq || !ep.Wants(ev) {
				continue
			}
			j := job{EndpointID: ep.ID, Event: ev, StreamSeq: seq, Trigger: TriggerScheduled, EnqueuedAt: now, Refanned: refanned}
			m, err := jobMessage(j)
			if err != nil {
				return nil, permanentError{err}
			}
			if ep.Ordered {
				m.Metadata.Set(mdOrdered, "1")
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func jobMessage(j job) (*message.Message, error) {
	body, err := jsonMarshal(j)
	if err != nil {
		return nil, err
	}
	m := message.NewMessage(watermill.NewUUID(), body)
	m.Metadata.Set(mdSubject, DeliverySubject(j.EndpointID, j.Event.GroupID))
	m.Metadata.Set(nats.MsgIdHdr, j.msgID())
	return m, nil
}

// zerologAdapter lets Watermill log through zerolog. Watermill's info
// chatter goes to debug; errors stay errors.
type zerologAdapter struct {
	l      zerolog.Logger
	fields watermill.LogFields
}

func (z zerologAdapter) event(e *zerolog.Event, fields watermill.LogFields) *zerolog.Event {
	for k, v := range z.fields {
		e = e.Interface(k, v)
	}
	for k, v := range fields {
		e = e.Interface(k, v)
	}
	return e
}

func (z zerologAdapter) Error(msg string, err error, fields watermill.LogFields) {
	z.event(z.l.Error().Err(err), fields).Msg(msg)
}
func (z zerologAdapter) Info(msg string, fields watermill.LogFields) {
	z.event(z.l.Debug(), fields).Msg(msg)
}
func (z zerologAdapter) Debug(msg string, fields watermill.LogFields) {
	z.event(z.l.Debug(), fields).Msg(msg)
}
func (z zerologAdapter) Trace(msg string, fields watermill.LogFields) {
	z.event(z.l.Trace(), fields).Msg(msg)
}
func (z zerologAdapter) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return zerologAdapter{l: z.l, fields: z.fields.Add(fields)}
}
