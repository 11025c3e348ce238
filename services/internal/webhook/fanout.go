package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
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
)

// marshaler is Watermill's NATS header marshaler plus two things the
// fan-out needs: per-message subjects on publish and the JetStream stream
// sequence on consume.
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

func (m *marshaler) Unmarshal(nm *nats.Msg) (*message.Message, error) {
	msg, err := m.NATSMarshaler.Unmarshal(nm)
	if err != nil {
		return nil, err
	}
	if meta, err := nm.Metadata(); err == nil {
		msg.Metadata.Set(mdStreamSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
	}
	return msg, nil
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

// runFanout runs the Watermill router that turns each commit of
// ROSTER_EVENTS into delivery jobs, until ctx ends.
func (d *Dispatcher) runFanout(ctx context.Context) error {
	subConn, err := d.cfg.Dial()
	if err != nil {
		return fmt.Errorf("fan-out subscriber connection: %w", err)
	}
	pubConn, err := d.cfg.Dial()
	if err != nil {
		subConn.Close()
		return fmt.Errorf("fan-out publisher connection: %w", err)
	}
	defer pubConn.Close()
	defer subConn.Close()
	wlog := zerologAdapter{l: d.log.With().Str("component", "watermill").Logger()}
	m := &marshaler{}
	const ackWait = 30 * time.Second
	sub, err := wmnats.NewSubscriberWithNatsConn(subConn, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:      m,
		SubscribersCount: 1,
		AckWaitTimeout:   ackWait,
		CloseTimeout:     10 * time.Second,
		// A transient failure (NATS unavailable) is retried after a pause.
		NakDelay:         wmnats.NewStaticDelay(time.Second),
		QueueGroupPrefix: FanoutDurable,
		JetStream: wmnats.JetStreamConfig{
			DurablePrefix: FanoutDurable,
			SubscribeOptions: []nats.SubOpt{
				nats.BindStream(events.StreamName),
				nats.ManualAck(),
				nats.AckExplicit(),
				nats.DeliverAll(),
				// One commit at a time: a group's jobs are enqueued in
				// version order even when a commit is retried.
				nats.MaxAckPending(1),
				nats.AckWait(ackWait),
			},
		},
	}, wlog)
	if err != nil {
		return fmt.Errorf("fan-out subscriber: %w", err)
	}
	pub, err := wmnats.NewPublisherWithNatsConn(pubConn, wmnats.PublisherPublishConfig{
		Marshaler:         m,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{},
	}, wlog)
	if err != nil {
		return fmt.Errorf("fan-out publisher: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return fmt.Errorf("fan-out router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(pub, PoisonSubject, isPermanent)
	if err != nil {
		return fmt.Errorf("poison queue: %w", err)
	}
	// Outermost first: correlation ids flow onto every job; a commit that
	// can never be read (or panics the handler) is parked on the poison
	// queue and acknowledged so it does not stall the fan-out.
	router.AddMiddleware(setCorrelation, middleware.CorrelationID, poison, middleware.Recoverer)
	router.AddHandler("webhook_fanout", events.SubjectPrefix+">", sub, "roster.webhook.delivery", pub, d.fanout)
	return router.Run(ctx)
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
// The router publishes the jobs (Nats-Msg-Id = endpoint:event, so a commit
// handled twice inside the duplicate window enqueues nothing new) and
// acknowledges the commit only after every job is stored.
func (d *Dispatcher) fanout(msg *message.Message) ([]*message.Message, error) {
	c, err := eventstore.DecodeCommit(msg.Payload)
	if err != nil {
		return nil, permanentError{err}
	}
	seq, _ := strconv.ParseUint(msg.Metadata.Get(mdStreamSeq), 10, 64)
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
			j := job{EndpointID: ep.ID, Event: ev, StreamSeq: seq, Trigger: TriggerScheduled, EnqueuedAt: now}
			m, err := jobMessage(j)
			if err != nil {
				return nil, permanentError{err}
			}
			out = append(out, m)
		}
	}
	d.metrics.enqueued.Add(float64(len(out)))
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
