package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// Headers set on every commit message. Consumers may route on them without
// decoding the body.
const (
	HeaderCommandID   = "Roster-Command-Id"
	HeaderCommand     = "Roster-Command"
	HeaderLastVersion = "Roster-Version"
	HeaderEventCount  = "Roster-Event-Count"
)

// ErrConflict means the group's subject moved on since the expected
// sequence: someone else appended first. Reload and decide again.
var ErrConflict = errors.New("optimistic concurrency conflict")

// Stored is a commit with its position in the stream.
type Stored struct {
	Seq    uint64
	Commit events.Commit
}

// Store appends and reads commits on ROSTER_EVENTS.
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
}

// New returns a Store on a provisioned stream.
func New(js jetstream.JetStream, stream jetstream.Stream) *Store {
	return &Store{js: js, stream: stream}
}

// AppendResult says where a commit landed.
type AppendResult struct {
	Seq uint64
	// Duplicate is true when JetStream recognised the message id inside its
	// duplicate window: the commit was already stored at Seq.
	Duplicate bool
}

// AppendOption adds to the commit message Append publishes.
type AppendOption func(*nats.Msg)

// WithHeader sets an extra header on the commit message (the command
// service passes what the audit trail needs about the reception). The
// store's own headers and JetStream's are set after it and win.
func WithHeader(key, value string) AppendOption {
	return func(m *nats.Msg) { m.Header.Set(key, value) }
}

// Append stores c on its group's subject if the subject's last sequence is
// still expectedSeq (0: the group has no commit yet). It returns ErrConflict
// when it is not, whichever of JetStream's two codes reports it.
func (s *Store) Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...AppendOption) (AppendResult, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return AppendResult{}, fmt.Errorf("encode commit: %w", err)
	}
	msg := nats.NewMsg(events.Subject(c.GroupID))
	msg.Data = body
	for _, o := range opts {
		o(msg)
	}
	msg.Header.Set(HeaderCommandID, c.CommandID)
	msg.Header.Set(HeaderCommand, c.Command)
	msg.Header.Set(HeaderLastVersion, strconv.FormatUint(c.LastVersion(), 10))
	msg.Header.Set(HeaderEventCount, strconv.Itoa(len(c.Events)))
	ack, err := s.js.PublishMsg(ctx, msg,
		jetstream.WithExpectLastSequencePerSubject(expectedSeq),
		jetstream.WithMsgID(c.GroupID+":"+c.CommandID),
	)
	if err != nil {
		if IsConflict(err) {
			return AppendResult{}, fmt.Errorf("append to %s at %d: %w", c.GroupID, expectedSeq, ErrConflict)
		}
		return AppendResult{}, fmt.Errorf("append to %s: %w", c.GroupID, err)
	}
	return AppendResult{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// IsConflict reports whether err is JetStream's wrong-last-sequence error
// (10071, or 10164 on replicated streams).
func IsConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, ErrConflict)
}

// LastSeq returns the stream sequence of the group's last commit, or 0 when
// the group has none. It reads from the stream leader (read-after-write).
func (s *Store) LastSeq(ctx context.Context, groupID string) (uint64, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, events.Subject(groupID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last commit of %s: %w", groupID, err)
	}
	return m.Sequence, nil
}

// Get reads the commit stored at seq.
func (s *Store) Get(ctx context.Context, seq uint64) (Stored, error) {
	m, err := s.stream.GetMsg(ctx, seq)
	if err != nil {
		return Stored{}, fmt.Errorf("read commit at %d: %w", seq, err)
	}
	c, err := DecodeCommit(m.Data)
	if err != nil {
		return Stored{}, fmt.Errorf("commit at %d: %w", seq, err)
	}
	return Stored{Seq: seq, Commit: c}, nil
}

// DecodeCommit parses a commit message body.
func DecodeCommit(data []byte) (events.Commit, error) {
	var c events.Commit
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("decode commit: %w", err)
	}
	return c, nil
}

// Load calls fn with each commit of groupID after afterSeq, in order, up to
// the group's last commit at the time of the call. It returns the sequence
// of the last commit seen (afterSeq when there was none).
func (s *Store) Load(ctx context.Context, groupID string, afterSeq uint64, fn func(Stored) error) (uint64, error) {
	last, err := s.LastSeq(ctx, groupID)
	if err != nil {
		return afterSeq, err
	}
	if last <= afterSeq {
		return afterSeq, nil
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.Subject(groupID)},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    afterSeq + 1,
	})
	if err != nil {
		return afterSeq, fmt.Errorf("load %s: %w", groupID, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return afterSeq, fmt.Errorf("load %s: %w", groupID, err)
	}
	defer it.Stop()
	seen := afterSeq
	for seen < last {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return seen, fmt.Errorf("load %s after %d: %w", groupID, seen, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return seen, fmt.Errorf("load %s: %w", groupID, err)
		}
		c, err := DecodeCommit(msg.Data())
		if err != nil {
			return seen, fmt.Errorf("load %s at %d: %w", groupID, meta.Sequence.Stream, err)
		}
		if err := fn(Stored{Seq: meta.Sequence.Stream, Commit: c}); err != nil {
			return seen, err
		}
		seen = meta.Sequence.Stream
	}
	return seen, nil
}
