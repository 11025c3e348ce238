package jsqueue

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
)

// lease is a job message while this process holds it: app.JobMsg. Until
// the message is acknowledged, nacked or terminated a heartbeat marks it
// in progress every AckWait/3, so a live dispatcher keeps its jobs for as
// long as it works on them, and the consumer's short AckWait only bounds
// how long the jobs of a dispatcher that died wait for another one (ADR
// 0026).
//
// Every settlement stops the heartbeat first, under the same lock the
// heartbeat publishes under: a progress mark sent after a NakWithDelay
// would reset the server's redelivery timer to a full AckWait and cut the
// retry delay short.
type lease struct {
	msg       jetstream.Msg
	seq, nd   uint64
	every     time.Duration
	mu        sync.Mutex
	timer     clockwork.Timer
	done      bool
	metaError error
}

func newLease(msg jetstream.Msg, ackWait time.Duration, clock clockwork.Clock) *lease {
	l := &lease{msg: msg, every: max(ackWait/3, 100*time.Millisecond)}
	if meta, err := msg.Metadata(); err == nil {
		l.seq, l.nd = meta.Sequence.Stream, meta.NumDelivered
	} else {
		l.metaError = err
	}
	l.timer = clock.AfterFunc(l.every, l.beat)
	return l
}

func (l *lease) beat() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	_ = l.msg.InProgress()
	l.timer.Reset(l.every)
}

// release stops the heartbeat; no progress mark is sent after it returns.
func (l *lease) release() {
	l.mu.Lock()
	l.done = true
	l.timer.Stop()
	l.mu.Unlock()
}

func (l *lease) Subject() string      { return l.msg.Subject() }
func (l *lease) Data() []byte         { return l.msg.Data() }
func (l *lease) Seq() uint64          { return l.seq }
func (l *lease) NumDelivered() uint64 { return l.nd }

func (l *lease) Ack() error                          { l.release(); return l.msg.Ack() }
func (l *lease) DoubleAck(ctx context.Context) error { l.release(); return l.msg.DoubleAck(ctx) }
func (l *lease) Nak() error                          { l.release(); return l.msg.Nak() }
func (l *lease) NakWithDelay(d time.Duration) error  { l.release(); return l.msg.NakWithDelay(d) }
func (l *lease) Term() error                         { l.release(); return l.msg.Term() }
