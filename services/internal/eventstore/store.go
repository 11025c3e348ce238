package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/events"
)

// ErrConflict means the group's subject moved on since the expected
// sequence: someone else appended first. Reload and decide again.
var ErrConflict = errors.New("optimistic concurrency conflict")

// ErrInvalidGroup means a group id is not a single subject token.
var ErrInvalidGroup = errors.New("group id is not a single subject token")

// ErrNotFound means the stream holds no commit at the sequence asked for.
var ErrNotFound = errors.New("commit not found")

// Config tunes how a Store reads. The zero value is ready to use.
type Config struct {
	// BatchSize bounds the commits one direct batch read asks a replica
	// for (default 128). Smaller batches cost round trips; 128 and 256
	// load a 1,000-commit group within about 15% of each other (see
	// docs/adr/0006), and the client buffers a whole batch. The server
	// also ends a batch at its max_pending bytes (64 MiB).
	BatchSize int
	// ReadTimeout bounds one request to the stream leader when the
	// caller's context has no earlier deadline (default 5s).
	ReadTimeout time.Duration
	// ReplicaTimeout bounds one direct batch (default 1s): a batch that
	// has not ended by then (its replica stopped, or is too busy catching
	// up) is continued from the leader. A healthy batch takes milliseconds.
	ReplicaTimeout time.Duration
	// Metrics receives the read counters (roster_eventstore_*); nil
	// registers them on a private registry.
	Metrics prometheus.Registerer
	// AppendTimeout bounds how long an AppendAsync waits for JetStream's
	// ack before it reports the append failed, outcome unknown (default
	// 10s, the command service's request timeout). Append is bounded by
	// its context instead.
	AppendTimeout time.Duration
	// MaxPendingAppends bounds the asynchronous appends in flight at once
	// (default 4096); one more waits briefly for a slot, then fails. The
	// command service sends at most one per request it holds, fewer than
	// this.
	MaxPendingAppends int
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 128
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 5 * time.Second
	}
	if c.ReplicaTimeout == 0 {
		c.ReplicaTimeout = time.Second
	}
	if c.AppendTimeout == 0 {
		c.AppendTimeout = 10 * time.Second
	}
	if c.MaxPendingAppends == 0 {
		c.MaxPendingAppends = 4096
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 0 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("batch size %d: must be 1..10000", c.BatchSize))
	}
	if c.ReadTimeout < 0 || c.ReplicaTimeout < 0 || c.AppendTimeout < 0 {
		errs = append(errs, errors.New("read, replica and append timeouts must not be negative"))
	}
	if c.MaxPendingAppends < 0 {
		errs = append(errs, errors.New("MaxPendingAppends must not be negative"))
	}
	return errors.Join(errs...)
}

// Store appends and reads commits on ROSTER_EVENTS. Its reads create no
// consumer; whatever decides a command is read from, or checked against,
// the stream leader (docs/adr/0006).
type Store struct {
	js     jetstream.JetStream
	nc     *nats.Conn
	events jetstream.Stream // range reads' ordered consumers
	stream string
	cfg    Config

	msgGetSubject    string // STREAM.MSG.GET: the leader answers
	directGetSubject string // DIRECT.GET: any replica answers

	stats   readStats
	metrics storeMetrics

	// The publisher of AppendAsync, made on first use (async.go).
	pubOnce sync.Once
	pub     *publisher
	pubErr  error
}

// New returns a Store on a provisioned stream with the default Config.
func New(js jetstream.JetStream, stream jetstream.Stream) *Store {
	s, err := Open(js, stream, Config{})
	if err != nil {
		// The defaults are valid: this is a programming error.
		panic(err)
	}
	return s
}

// Open returns a Store on a provisioned stream.
func Open(js jetstream.JetStream, stream jetstream.Stream, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("event store config: %w", err)
	}
	m, err := newStoreMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	name := stream.CachedInfo().Config.Name
	opts := js.Options()
	return &Store{
		js: js, nc: js.Conn(), events: stream, stream: name, cfg: cfg, metrics: m,
		msgGetSubject:    apiSubject(opts, "STREAM.MSG.GET."+name),
		directGetSubject: apiSubject(opts, "DIRECT.GET."+name),
	}, nil
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
	msg, err := s.commitMsg(c, opts)
	if err != nil {
		return AppendResult{}, err
	}
	return s.publish(ctx, msg, c.GroupID+":"+c.CommandID, expectedSeq)
}

// commitMsg is the message that stores c: its encoding, the caller's
// headers, then the store's.
func (s *Store) commitMsg(c events.Commit, opts []AppendOption) (*nats.Msg, error) {
	body, err := EncodeCommit(c)
	if err != nil {
		return nil, err
	}
	// Sized for every header the message gets (the caller's, the store's
	// four and JetStream's two): growing the map cost more than the
	// headers themselves.
	msg := &nats.Msg{Subject: events.Subject(c.GroupID), Data: body, Header: make(nats.Header, len(opts)+6)}
	for _, o := range opts {
		o(msg)
	}
	// As Header.Set would (the names are canonical), with one allocation
	// for the four values.
	v := [4]string{c.CommandID, c.Command, strconv.FormatUint(c.LastVersion(), 10), strconv.Itoa(len(c.Events))}
	vals := v[:]
	msg.Header[HeaderCommandID] = vals[0:1:1]
	msg.Header[HeaderCommand] = vals[1:2:2]
	msg.Header[HeaderLastVersion] = vals[2:3:3]
	msg.Header[HeaderEventCount] = vals[3:4:4]
	return msg, nil
}

// busyRetries bounds how often publish repeats an append that a replicated
// stream refused as "wrong last sequence" without naming one (10164).
const busyRetries = 3

// busyWait is how long to wait before repeating an append refused busy
// for the attempt-th time, or false when err is not that refusal or the
// repeats are used up: the one rule of Append and AppendAsync.
func busyWait(err error, attempt int) (time.Duration, bool) {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant && attempt < busyRetries {
		return time.Duration(250<<attempt) * time.Microsecond, true
	}
	return 0, false
}

// publish appends msg under the OCC check and the message id. A replicated
// stream's leader answers 10164 while another message of the subject is
// still in process, and that includes our own previous append for a short
// while after its ack: the expected sequence may well be right. Repeating
// the same message (same id, same expected sequence) a few times settles
// it either way; a real conflict then shows as 10071 or persists.
func (s *Store) publish(ctx context.Context, msg *nats.Msg, msgID string, expectedSeq uint64) (AppendResult, error) {
	group := strings.TrimPrefix(msg.Subject, events.SubjectPrefix)
	for attempt := 0; ; attempt++ {
		ack, err := s.js.PublishMsg(ctx, msg,
			jetstream.WithExpectLastSequencePerSubject(expectedSeq),
			jetstream.WithMsgID(msgID),
		)
		if err == nil {
			return AppendResult{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
		}
		if wait, ok := busyWait(err, attempt); ok {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return AppendResult{}, fmt.Errorf("append to %s: %w", group, ctx.Err())
			}
		}
		return AppendResult{}, appendError(group, expectedSeq, err)
	}
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
// the group has none. The stream leader answers: it includes every append
// acknowledged before the call.
func (s *Store) LastSeq(ctx context.Context, groupID string) (uint64, error) {
	m, ok, err := s.leaderGet(ctx, msgGetRequest{LastFor: events.Subject(groupID)})
	if err != nil {
		return 0, fmt.Errorf("last commit of %s: %w", groupID, err)
	}
	if !ok {
		return 0, nil
	}
	return m.Seq, nil
}

// Get reads the commit stored at seq from the stream leader, so a commit
// just appended (or acknowledged to another process) is always found.
func (s *Store) Get(ctx context.Context, seq uint64) (Stored, error) {
	m, ok, err := s.leaderGet(ctx, msgGetRequest{Seq: seq})
	if err != nil {
		return Stored{}, fmt.Errorf("read commit at %d: %w", seq, err)
	}
	if !ok {
		return Stored{}, fmt.Errorf("read commit at %d: %w", seq, ErrNotFound)
	}
	st, err := Decode(m.message())
	if err != nil {
		return Stored{}, fmt.Errorf("commit at %d: %w", seq, err)
	}
	return st, nil
}

// validGroup refuses a group id that is not one subject token: a wildcard
// would make next_by_subj, or a consumer's filter, read other groups'
// commits.
func validGroup(groupID string) error {
	if groupID == "" || strings.ContainsAny(groupID, ".*> \t\r\n") {
		return fmt.Errorf("%q: %w", groupID, ErrInvalidGroup)
	}
	return nil
}

// errReachedLast stops a direct batch at the leader's last commit.
var errReachedLast = errors.New("reached the leader's last commit")

// Load calls fn with each commit of groupID after afterSeq, in order, up to
// the group's last commit on the stream leader at the time of the call. It
// returns the sequence of the last commit seen (afterSeq when there was
// none).
//
// The leader's last commit comes first, in one request: a catch-up after a
// conflict, where the other process appended one commit, ends there. The
// commits between come in batches from a replica (any replica: they are
// immutable once stored); when the replica ends before the leader's last
// commit, because it is still catching up, the rest comes from the leader.
func (s *Store) Load(ctx context.Context, groupID string, afterSeq uint64, fn func(Stored) error) (uint64, error) {
	if err := validGroup(groupID); err != nil {
		return afterSeq, fmt.Errorf("load: %w", err)
	}
	subject := events.Subject(groupID)
	last, ok, err := s.leaderGet(ctx, msgGetRequest{LastFor: subject})
	if err != nil {
		return afterSeq, fmt.Errorf("load %s: %w", groupID, err)
	}
	if !ok || last.Seq <= afterSeq {
		return afterSeq, nil
	}
	seen := afterSeq
	emit := func(m rawMsg) error {
		st, err := Decode(m.message())
		if err != nil {
			return fmt.Errorf("load %s at %d: %w", groupID, m.Seq, err)
		}
		if err := fn(st); err != nil {
			return err
		}
		seen = m.Seq
		return nil
	}
	// leaderBudget > 0: a replica was behind; read that many commits from
	// the leader before asking a replica again.
	leaderBudget := 0
read:
	for seen+1 < last.Seq {
		if leaderBudget > 0 {
			m, ok, err := s.leaderGet(ctx, msgGetRequest{Seq: seen + 1, NextFor: subject})
			if err != nil {
				return seen, fmt.Errorf("load %s after %d: %w", groupID, seen, err)
			}
			if !ok || m.Seq > last.Seq {
				return seen, fmt.Errorf("load %s after %d: the leader has no commit up to its last at %d: %w", groupID, seen, last.Seq, ErrNotFound)
			}
			if m.Seq == last.Seq {
				break read
			}
			if err := emit(m); err != nil {
				return seen, err
			}
			leaderBudget--
			continue
		}
		end, err := s.directBatch(ctx, subject, seen+1, s.cfg.BatchSize, func(m rawMsg) error {
			if m.Seq >= last.Seq {
				return errReachedLast
			}
			return emit(m)
		})
		switch {
		case errors.Is(err, errReachedLast):
			break read
		case errors.Is(err, errReplicaTimeout):
			s.replicaBehind()
			leaderBudget = s.cfg.BatchSize
		case err != nil:
			return seen, fmt.Errorf("load %s after %d: %w", groupID, seen, err)
		case end.Foreign || seen+1 < last.Seq && (end.Empty || end.Pending == 0):
			// The replica holds no more of this group but the leader
			// does: the replica is behind (or a mirror answered). Read on
			// from the leader.
			s.replicaBehind()
			leaderBudget = s.cfg.BatchSize
		}
	}
	if err := emit(last); err != nil {
		return seen, err
	}
	return seen, nil
}
