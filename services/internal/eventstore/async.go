package eventstore

import (
	"encoding/json"
	"fmt"
	"strconv"
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
	// The headers jetstream.WithMsgID and WithExpectLastSequencePerSubject
	// set, which the server acts on.
	msg.Header[jetstream.MsgIDHeader] = []string{c.GroupID + ":" + c.CommandID}
	msg.Header[jetstream.ExpectedLastSubjSeqHeader] = []string{strconv.FormatUint(expectedSeq, 10)}
	p.publish(&pendingAppend{msg: msg, group: c.GroupID, expected: expectedSeq, done: done})
}

// The publisher is JetStream's asynchronous publish (PublishMsgAsync)
// reduced to what AppendAsync needs, on the store's own connection: one
// wildcard reply subscription, a numbered reply subject per append, the
// ack decoded by hand (JSON for anything but a plain ack), and one sweep
// for the ack timeouts instead of a timer per append. jetstream's
// version cost about as much of roster-groups' CPU per command as
// deciding and encoding the command (docs/performance.md, issue 14,
// second session; ADR 0114). What it did is kept: a 503 without a
// responder is sent again twice, 250 ms apart, then reported as
// jetstream.ErrNoStreamResponse; the appends pending when the connection
// starts reconnecting fail with nats.ErrDisconnected; at most
// MaxPendingAppends are in flight, and one more waits up to 200 ms for
// a slot, then fails with jetstream.ErrTooManyStalledMsgs.
const (
	noResponderRetries = 2
	noResponderWait    = 250 * time.Millisecond
	stallWait          = 200 * time.Millisecond
)

// asyncPublisher returns the store's publisher of asynchronous appends,
// made on first use.
func (s *Store) asyncPublisher() (*publisher, error) {
	s.pubOnce.Do(func() {
		p := &publisher{
			nc: s.nc, prefix: s.nc.NewInbox() + ".", timeout: s.cfg.AppendTimeout, max: s.cfg.MaxPendingAppends,
			pending: map[uint64]*pendingAppend{},
		}
		if _, err := s.nc.Subscribe(p.prefix+"*", p.handle); err != nil {
			s.pubErr = fmt.Errorf("async publisher: %w", err)
			return
		}
		go p.failOnReconnect(s.nc.StatusChanged(nats.RECONNECTING, nats.CLOSED))
		s.pub = p
	})
	return s.pub, s.pubErr
}

// publisher sends the asynchronous appends of one Store and routes each
// ack, or error, to its append.
type publisher struct {
	nc      *nats.Conn
	prefix  string // of the reply subjects: prefix + the append's id
	timeout time.Duration
	max     int

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*pendingAppend
	// stalled, when not nil, is closed when a slot frees.
	stalled  chan struct{}
	sweeping bool // a sweep goroutine runs (while anything is pending)
}

// pendingAppend is one asynchronous append in flight.
type pendingAppend struct {
	msg      *nats.Msg
	group    string
	expected uint64
	attempt  int // resends after 10164
	noReply  int // resends after a 503 without a responder
	deadline time.Time
	done     AppendDone
}

// publish sends (or sends again) a's message under a new reply subject.
func (p *publisher) publish(a *pendingAppend) {
	id, err := p.register(a)
	if err != nil {
		a.done(AppendResult{}, fmt.Errorf("append to %s: %w", a.group, err))
		return
	}
	a.msg.Reply = p.prefix + strconv.FormatUint(id, 36)
	if err := p.nc.PublishMsg(a.msg); err != nil {
		if a := p.take(id); a != nil {
			a.done(AppendResult{}, fmt.Errorf("append to %s: %w", a.group, err))
		}
	}
}

// register adds a to the appends in flight, waiting up to stallWait for
// a slot, and returns its id.
func (p *publisher) register(a *pendingAppend) (uint64, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		if p.max <= 0 || len(p.pending) < p.max {
			break
		}
		if p.stalled == nil {
			p.stalled = make(chan struct{})
		}
		stalled := p.stalled
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(stallWait)
		}
		select {
		case <-stalled:
		case <-timer.C:
			return 0, jetstream.ErrTooManyStalledMsgs
		}
	}
	defer p.mu.Unlock()
	p.next++
	a.deadline = time.Now().Add(p.timeout)
	p.pending[p.next] = a
	if !p.sweeping {
		p.sweeping = true
		go p.sweep()
	}
	return p.next, nil
}

// take removes and returns id's append (nil: already answered).
func (p *publisher) take(id uint64) *pendingAppend {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.pending[id]
	if a != nil {
		delete(p.pending, id)
		p.unstall()
	}
	return a
}

// unstall lets a stalled register go on; p.mu is held.
func (p *publisher) unstall() {
	if p.stalled != nil && len(p.pending) < p.max {
		close(p.stalled)
		p.stalled = nil
	}
}

// handle is the reply subscription's handler: JetStream's answer to one
// append.
func (p *publisher) handle(m *nats.Msg) {
	if len(m.Subject) <= len(p.prefix) {
		return
	}
	id, err := strconv.ParseUint(m.Subject[len(p.prefix):], 36, 64)
	if err != nil {
		return
	}
	a := p.take(id)
	if a == nil {
		return // timed out, or failed on a reconnect
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		// No responder: a stream leader in election, or no stream.
		if a.noReply < noResponderRetries {
			a.noReply++
			time.AfterFunc(noResponderWait, func() { p.publish(a) })
			return
		}
		a.done(AppendResult{}, fmt.Errorf("append to %s: %w", a.group, jetstream.ErrNoStreamResponse))
		return
	}
	if seq, dup, ok := parseAck(m.Data); ok {
		a.done(AppendResult{Seq: seq, Duplicate: dup}, nil)
		return
	}
	var r struct {
		Error     *jetstream.APIError `json:"error"`
		Stream    string              `json:"stream"`
		Seq       uint64              `json:"seq"`
		Duplicate bool                `json:"duplicate"`
	}
	switch {
	case json.Unmarshal(m.Data, &r) != nil:
		p.failed(a, jetstream.ErrInvalidJSAck)
	case r.Error != nil:
		p.failed(a, r.Error)
	case r.Stream == "":
		p.failed(a, jetstream.ErrInvalidJSAck)
	default:
		a.done(AppendResult{Seq: r.Seq, Duplicate: r.Duplicate}, nil)
	}
}

// failed answers an append JetStream refused. A 10164 (another message of
// the subject still in process) is sent again, as Append does (see
// Store.publish); everything else is answered as Append answers it.
func (p *publisher) failed(a *pendingAppend, err error) {
	if wait, ok := busyWait(err, a.attempt); ok {
		a.attempt++
		time.AfterFunc(wait, func() { p.publish(a) })
		return
	}
	a.done(AppendResult{}, appendError(a.group, a.expected, err))
}

// sweepEvery is how often pending appends are checked for their ack
// timeout: a timeout is reported between AppendTimeout and AppendTimeout
// plus this late.
func (p *publisher) sweepEvery() time.Duration {
	return min(max(p.timeout/10, 5*time.Millisecond), time.Second)
}

// sweep fails the appends whose ack has not come by their deadline, until
// nothing is pending.
func (p *publisher) sweep() {
	t := time.NewTicker(p.sweepEvery())
	defer t.Stop()
	for now := range t.C {
		var expired []*pendingAppend
		p.mu.Lock()
		for id, a := range p.pending {
			if !now.Before(a.deadline) {
				delete(p.pending, id)
				expired = append(expired, a)
			}
		}
		p.unstall()
		idle := len(p.pending) == 0
		if idle {
			p.sweeping = false
		}
		p.mu.Unlock()
		for _, a := range expired {
			a.done(AppendResult{}, appendError(a.group, a.expected, jetstream.ErrAsyncPublishTimeout))
		}
		if idle {
			return
		}
	}
}

// failOnReconnect fails every append pending when the connection starts
// reconnecting (their acks would come to a subscription the server no
// longer has), until the connection is closed.
func (p *publisher) failOnReconnect(status chan nats.Status) {
	for s := range status {
		if s == nats.CLOSED {
			return
		}
		p.mu.Lock()
		var lost []*pendingAppend
		for id, a := range p.pending {
			delete(p.pending, id)
			lost = append(lost, a)
		}
		p.unstall()
		p.mu.Unlock()
		for _, a := range lost {
			a.done(AppendResult{}, appendError(a.group, a.expected, nats.ErrDisconnected))
		}
	}
}

// parseAck reads the ack JetStream sends for a stored message,
// {"stream":"NAME","seq":N} with ,"duplicate":true on a duplicate (and
// ,"domain":"D" in a domain), without encoding/json. ok is false for any
// other body (an error, another shape): handle decodes it with
// encoding/json then.
func parseAck(b []byte) (seq uint64, dup, ok bool) {
	const head = `{"stream":"`
	if len(b) < len(head) || string(b[:len(head)]) != head {
		return 0, false, false
	}
	i := len(head)
	for i < len(b) && b[i] != '"' {
		if b[i] == '\\' {
			return 0, false, false
		}
		i++
	}
	if i == len(head) {
		return 0, false, false // no stream name: not an ack
	}
	const seqKey = `","seq":`
	if len(b)-i < len(seqKey) || string(b[i:i+len(seqKey)]) != seqKey {
		return 0, false, false
	}
	i += len(seqKey)
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if seq > (1<<64-1-d)/10 {
			return 0, false, false // overflows: encoding/json refuses it
		}
		seq = seq*10 + d
	}
	if i == start || b[start] == '0' && i-start > 1 {
		return 0, false, false
	}
	switch string(b[i:]) {
	case "}":
		return seq, false, true
	case `,"duplicate":true}`:
		return seq, true, true
	}
	return 0, false, false
}

// appendError wraps a failed append as Append reports it: a conflict
// matches ErrConflict.
func appendError(group string, expectedSeq uint64, err error) error {
	if IsConflict(err) {
		return fmt.Errorf("append to %s at %d: %w: %w", group, expectedSeq, ErrConflict, err)
	}
	return fmt.Errorf("append to %s: %w", group, err)
}
