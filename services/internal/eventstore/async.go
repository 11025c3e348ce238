package eventstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// AppendDone receives the outcome of an AppendAsync: what Append would
// have returned.
type AppendDone func(AppendResult, error)

// AppendAsync is Append without waiting: it publishes c with the same
// checks (expected last subject sequence, the message id that makes a
// retry a duplicate) and returns; done is called exactly once when
// JetStream has answered, or when no answer came within the store's
// AppendTimeout, or (before AppendAsync returns) when the message could
// not be sent. done runs on the store's ack goroutine, which every
// AppendAsync of the store shares: it must be quick and must not block
// (hand anything slow to another goroutine).
//
// Appends of different groups are thereby in flight together without a
// goroutine waiting for each. The caller keeps the group's own appends
// one at a time: the expected sequence of the next is the ack of this one.
func (s *Store) AppendAsync(c events.Commit, expectedSeq uint64, done AppendDone, opts ...AppendOption) {
	msg, err := s.commitMsg(c, opts)
	if err != nil {
		done(AppendResult{}, err)
		return
	}
	p, err := s.asyncPublisher()
	if err != nil {
		done(AppendResult{}, fmt.Errorf("append to %s: %w", c.GroupID, err))
		return
	}
	p.publish(&pendingAppend{msg: msg, group: c.GroupID, msgID: c.GroupID + ":" + c.CommandID, expected: expectedSeq, done: done})
}

// asyncPublisher returns the store's publisher of asynchronous appends,
// made on first use: a JetStream context of its own, whose ack handlers
// are the store's and whose pending appends time out.
func (s *Store) asyncPublisher() (*publisher, error) {
	s.pubOnce.Do(func() {
		p := &publisher{pending: map[*nats.Msg]*pendingAppend{}}
		js, err := jetstream.New(s.nc,
			jetstream.WithPublishAsyncTimeout(s.cfg.AppendTimeout),
			jetstream.WithPublishAsyncMaxPending(s.cfg.MaxPendingAppends),
			jetstream.WithPublishAsyncAckHandler(p.acked),
			jetstream.WithPublishAsyncErrHandler(p.failed),
		)
		if err != nil {
			s.pubErr = fmt.Errorf("async publisher: %w", err)
			return
		}
		p.js = js
		s.pub = p
	})
	return s.pub, s.pubErr
}

// publisher sends the asynchronous appends of one Store and routes each
// ack, or error, to its append.
type publisher struct {
	js jetstream.JetStream

	mu sync.Mutex
	// pending maps each message in flight to its append: nats.go hands the
	// handlers the message that was published.
	pending map[*nats.Msg]*pendingAppend
}

// pendingAppend is one asynchronous append in flight.
type pendingAppend struct {
	msg      *nats.Msg
	group    string
	msgID    string
	expected uint64
	attempt  int
	done     AppendDone
}

// publish sends (or sends again) a's message.
func (p *publisher) publish(a *pendingAppend) {
	p.mu.Lock()
	p.pending[a.msg] = a
	p.mu.Unlock()
	_, err := p.js.PublishMsgAsync(a.msg,
		jetstream.WithExpectLastSequencePerSubject(a.expected),
		jetstream.WithMsgID(a.msgID),
	)
	if err != nil {
		if a := p.take(a.msg); a != nil {
			a.done(AppendResult{}, fmt.Errorf("append to %s: %w", a.group, err))
		}
	}
}

// take removes and returns msg's append (nil: already answered).
func (p *publisher) take(msg *nats.Msg) *pendingAppend {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.pending[msg]
	delete(p.pending, msg)
	return a
}

// acked is the ack handler: the append is stored (or was, a duplicate).
func (p *publisher) acked(_ jetstream.JetStream, msg *nats.Msg, ack *jetstream.PubAck) {
	if a := p.take(msg); a != nil {
		a.done(AppendResult{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil)
	}
}

// failed is the error handler: JetStream refused the append, or no answer
// came in time, or the connection was lost with the append in flight. A
// 10164 (another message of the subject still in process) is sent again,
// as Append does (see publish); everything else is answered as Append
// answers it.
func (p *publisher) failed(_ jetstream.JetStream, msg *nats.Msg, err error) {
	a := p.take(msg)
	if a == nil {
		return
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant && a.attempt < busyRetries {
		wait := time.Duration(250<<a.attempt) * time.Microsecond
		a.attempt++
		time.AfterFunc(wait, func() { p.publish(a) })
		return
	}
	a.done(AppendResult{}, appendError(a.group, a.expected, err))
}

// appendError wraps a failed append as Append reports it: a conflict
// matches ErrConflict.
func appendError(group string, expectedSeq uint64, err error) error {
	if IsConflict(err) {
		return fmt.Errorf("append to %s at %d: %w: %w", group, expectedSeq, ErrConflict, err)
	}
	return fmt.Errorf("append to %s: %w", group, err)
}
