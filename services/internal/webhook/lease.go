package webhook

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// lease is a job message while this process holds it. Until the message
// is acknowledged, nacked or terminated a heartbeat marks it in progress
// every AckWait/3, so a live dispatcher keeps its jobs for as long as it
// works on them, and the consumer's short AckWait only bounds how long the
// jobs of a dispatcher that died wait for another one (ADR 0026).
//
// Every settlement stops the heartbeat first, under the same lock the
// heartbeat publishes under: a progress mark sent after a NakWithDelay
// would reset the server's redelivery timer to a full AckWait and cut the
// retry delay short.
type lease struct {
	jetstream.Msg
	every time.Duration

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

func newLease(msg jetstream.Msg, ackWait time.Duration) *lease {
	l := &lease{Msg: msg, every: max(ackWait/3, 100*time.Millisecond)}
	l.timer = time.AfterFunc(l.every, l.beat)
	return l
}

func (l *lease) beat() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	_ = l.Msg.InProgress()
	l.timer.Reset(l.every)
}

// release stops the heartbeat; no progress mark is sent after it returns.
func (l *lease) release() {
	l.mu.Lock()
	l.done = true
	l.timer.Stop()
	l.mu.Unlock()
}

func (l *lease) Ack() error                          { l.release(); return l.Msg.Ack() }
func (l *lease) DoubleAck(ctx context.Context) error { l.release(); return l.Msg.DoubleAck(ctx) }
func (l *lease) Nak() error                          { l.release(); return l.Msg.Nak() }
func (l *lease) NakWithDelay(d time.Duration) error {
	l.release()
	return l.Msg.NakWithDelay(d)
}
func (l *lease) Term() error                        { l.release(); return l.Msg.Term() }
func (l *lease) TermWithReason(reason string) error { l.release(); return l.Msg.TermWithReason(reason) }

// givenBack remembers, per job message (stream sequence of
// ROSTER_WEBHOOK_DELIVERIES), the deliveries this dispatcher handed back to
// JetStream without sending an HTTP request (held behind an earlier job,
// paused, throttled while stopping, early for its schedule). A later delivery of the same attempt is a repeat only if
// some earlier delivery since the last saved state is not among them: that
// holder may have sent the request (a crash or a lost connection between
// the request and the save). Deliveries handed back by another process are
// not known here and count as possibly sent (ADR 0026).
type givenBack struct {
	mu sync.Mutex
	m  map[uint64][]uint64
}

// maxGivenBack bounds the memory: past it the record is cleared, which
// only marks some later attempts as possible repeats.
const (
	maxGivenBack       = 1 << 16
	maxGivenBackPerJob = 64
)

func (g *givenBack) add(seq, delivery uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil || len(g.m) >= maxGivenBack {
		g.m = map[uint64][]uint64{}
	}
	ds := g.m[seq]
	if len(ds) >= maxGivenBackPerJob {
		ds = ds[1:]
	}
	g.m[seq] = append(ds, delivery)
}

func (g *givenBack) forget(seq uint64) {
	g.mu.Lock()
	delete(g.m, seq)
	g.mu.Unlock()
}

// repeat reports whether a delivery before this one (numbered delivery)
// and after saved (the delivery whose outcome was last saved, 0: none) may
// have sent the request this delivery is about to send.
func (g *givenBack) repeat(seq, delivery, saved uint64) bool {
	if delivery <= saved+1 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	known := uint64(0)
	for _, d := range g.m[seq] {
		if d > saved && d < delivery {
			known++
		}
	}
	return delivery-1-saved > known
}
