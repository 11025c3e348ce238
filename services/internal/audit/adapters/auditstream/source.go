package auditstream

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Msg is what a decoder sees of a message: its subject, body, headers and
// stream sequence (0 when unknown, and unless the source was made
// WithStreamSeq).
type Msg struct {
	Subject   string
	Data      []byte
	Header    nats.Header
	StreamSeq uint64
}

// Decoder turns a message into records: none and no error to skip it, an
// error (wrapping record.ErrMalformed) to dead-letter it.
type Decoder func(Msg) ([]record.Record, error)

// ConsumerConfig is the durable consumer a Source reads.
type ConsumerConfig struct {
	// Name is the durable name; several sinks sharing it share the work.
	Name string
	// AckWait is how long JetStream waits for an ack before redelivering.
	AckWait time.Duration
	// MaxAckPending bounds unacknowledged messages (the sink holds up to
	// four batches: one being fetched or waiting, one waiting, one being
	// inserted, one being acknowledged).
	MaxAckPending int
}

// Consumer creates (or updates) the sink's durable consumer on stream.
func Consumer(ctx context.Context, stream jetstream.Stream, cfg ConsumerConfig) (jetstream.Consumer, error) {
	return stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       cfg.Name,
		Description:   "Roster audit sink: writes to ClickHouse",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1, // a record is never given up on: it lands or is dead-lettered
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
}

// Source is the app.Source on a JetStream durable consumer. Dead letters
// go to record.DeadLetterSubject in ROSTER_AUDIT through js.
type Source struct {
	name    string
	cons    jetstream.Consumer
	js      jetstream.JetStream
	decode  Decoder
	withSeq bool
	log     zerolog.Logger
}

// SourceOption adjusts a Source.
type SourceOption func(*Source)

// WithStreamSeq gives the decoder each message's stream sequence
// (Msg.StreamSeq). It parses every message's metadata, which a decoder
// that does not need it should not pay for.
func WithStreamSeq() SourceOption { return func(s *Source) { s.withSeq = true } }

// NewSource reads cons (named name), decoding with decode.
func NewSource(name string, cons jetstream.Consumer, js jetstream.JetStream, decode Decoder, log zerolog.Logger, opts ...SourceOption) *Source {
	s := &Source{name: name, cons: cons, js: js, decode: decode, log: log.With().Str("consumer", name).Logger()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name implements app.Source.
func (s *Source) Name() string { return s.name }

// Fetch implements app.Source with one pull request: it yields messages
// as JetStream delivers them.
func (s *Source) Fetch(ctx context.Context, max int, wait time.Duration) (iter.Seq[app.Message], error) {
	batch, err := s.cons.Fetch(max, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, err
	}
	return func(yield func(app.Message) bool) {
		for m := range batch.Messages() {
			if !yield(message{m: m, decode: s.decode, withSeq: s.withSeq}) {
				// Stop consuming: the rest stays unacknowledged and is
				// redelivered after its ack wait.
				break
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			s.log.Debug().Err(err).Msg("fetch ended early")
		}
	}, nil
}

// DeadLetter implements app.Source: it republishes the message on
// record.DeadLetterSubject, body unchanged, with the reason and where it
// came from in headers, then acks it. The dead letter's Nats-Msg-Id is
// the original's stream and sequence, so a retried dead letter is stored
// once.
func (s *Source) DeadLetter(ctx context.Context, am app.Message, reason string) error {
	own, ok := am.(message)
	if !ok {
		return fmt.Errorf("dead letter: %T is not a message of %s", am, s.name)
	}
	msg := own.m
	dl := nats.NewMsg(record.DeadLetterSubject)
	dl.Data = msg.Data()
	dl.Header.Set(record.HeaderDeadLetterReason, record.TruncateUTF8(reason, 4096))
	dl.Header.Set(record.HeaderDeadLetterSubject, msg.Subject())
	id := "deadletter:" + msg.Subject()
	if meta, err := msg.Metadata(); err == nil {
		dl.Header.Set(record.HeaderDeadLetterStream, meta.Stream)
		dl.Header.Set(record.HeaderDeadLetterSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
		id = "deadletter:" + meta.Stream + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	if _, err := s.js.PublishMsg(ctx, dl, jetstream.WithMsgID(id)); err != nil {
		return err
	}
	s.log.Debug().Str("subject", msg.Subject()).Msg("dead letter stored")
	if err := msg.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		s.log.Debug().Err(err).Msg("ack of dead-lettered message failed")
	}
	return nil
}

// message is one JetStream message as an app.Message.
type message struct {
	m       jetstream.Msg
	decode  Decoder
	withSeq bool
}

func (m message) Records() ([]record.Record, error) {
	var seq uint64
	if m.withSeq {
		if meta, err := m.m.Metadata(); err == nil {
			seq = meta.Sequence.Stream
		}
	}
	return m.decode(Msg{Subject: m.m.Subject(), Data: m.m.Data(), Header: m.m.Headers(), StreamSeq: seq})
}

func (m message) Ack() error {
	if err := m.m.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		return err
	}
	return nil
}

func (m message) InProgress() error { return m.m.InProgress() }
