package kvmodel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/membership/app"
)

// The bulk writes of a rebuild (ADR 0035). A rebuild fills a generation
// that is empty, has one writer (the rebuild lock) and is read by nobody
// until the switch, so it can publish without waiting: most writes carry
// no reply subject, and every ackEvery-th write (and the last of each
// window) asks for a publish ack whose stream sequence proves that every
// write before it was stored, in order. One writer on a fresh bucket means
// the n-th write must get sequence n; anything else (a write dropped by the
// server, a second writer) fails the rebuild instead of switching to an
// incomplete model.

// BulkOptions tunes a BulkWriter.
type BulkOptions struct {
	// AckEvery asks for a publish ack every AckEvery writes (1: all).
	AckEvery int
	// MaxUnproven bounds the writes in flight that no ack has proven
	// stored yet. It must stay well below the server's per-stream ingest
	// queue (100,000 messages by default) so that a burst is never dropped.
	MaxUnproven int
}

// ErrBulkGap means a bulk write was not stored where it had to be: the
// server dropped it (ingest limit), or something else writes the
// generation.
var ErrBulkGap = errors.New("rebuild write not stored in sequence")

// BulkWriter publishes a fresh generation's writes with few acks. Write
// encodes a window and queues it; a goroutine of its own publishes the
// queued windows, so the next window is folded while the server stores
// this one (ADR 0108). Close ends it.
type BulkWriter struct {
	m           *Model
	nc          *nats.Conn
	clock       clockwork.Clock
	stream      string // the bucket's stream name
	assigned    uint64 // the sequence the next write encoded will be stored at
	written     app.WriteCount
	q           chan bulkJob
	closeOnce   sync.Once
	done        chan struct{}
	errMu       sync.Mutex
	err         error // the publisher's first error: every later call fails with it
	ctx         context.Context
	cancel      context.CancelFunc
	ackEvery    int
	maxUnproven int

	// The publisher's own (send, waitOldest):
	next     uint64 // the sequence the next write sent will be stored at
	sinceAck int
	out      []sentinel // acked writes in flight, oldest first
}

// bulkJob is a window to publish, or (drain set) a request to wait until
// everything before it is proven stored.
type bulkJob struct {
	msgs  []*nats.Msg // the window's last one asks for proof
	drain chan error
}

type sentinel struct {
	f   jetstream.PubAckFuture
	seq uint64
}

// BulkWriter returns a bulk writer of m, which must be empty. Its
// publisher runs until Close or until ctx ends.
func (m *Model) BulkWriter(ctx context.Context, o BulkOptions) (*BulkWriter, error) {
	kvs, err := m.kvStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m.bucket, err)
	}
	info, err := kvs.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m.bucket, err)
	}
	if info.State.Msgs != 0 {
		return nil, fmt.Errorf("generation %d is not empty (%d messages): %w", m.gen, info.State.Msgs, ErrBulkGap)
	}
	w := &BulkWriter{
		m: m, nc: m.js.Conn(), clock: m.clock, stream: info.Config.Name,
		assigned: info.State.LastSeq + 1, next: info.State.LastSeq + 1,
		q: make(chan bulkJob, 1), done: make(chan struct{}),
		ackEvery: max(o.AckEvery, 1), maxUnproven: max(o.MaxUnproven, o.AckEvery, 1),
	}
	w.ctx, w.cancel = context.WithCancel(ctx)
	go w.publish()
	return w, nil
}

// Close stops the publisher; writes queued and not drained are abandoned
// (the generation is then incomplete: call Drain first to keep it).
func (w *BulkWriter) Close() {
	w.closeOnce.Do(func() {
		w.cancel()
		close(w.q)
		<-w.done
	})
}

func (w *BulkWriter) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *BulkWriter) fail(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

// publish sends the queued windows in order until Close.
func (w *BulkWriter) publish() {
	defer close(w.done)
	for j := range w.q {
		if err := w.failed(); err != nil {
			if j.drain != nil {
				j.drain <- err
			}
			continue
		}
		var err error
		for i, m := range j.msgs {
			if _, err = w.send(w.ctx, m, i == len(j.msgs)-1); err != nil {
				break
			}
		}
		if err == nil && j.drain != nil {
			for len(w.out) > 0 && err == nil {
				err = w.waitOldest(w.ctx)
			}
		}
		if err != nil {
			w.fail(err)
		}
		if j.drain != nil {
			j.drain <- err
		}
	}
}

// Write encodes a window's records: each touched member and index key
// once, then each group's info key (last, as the live projector writes
// it), sets InfoRev to the sequence the info record will be stored at
// (what the guarded tail's CAS expects), and queues them for the
// publisher. The window's last write asks for proof, so the next window's
// writes are counted from a proven point. It returns at once unless the
// publisher is still on the window before the last one queued, and fails
// if an earlier write failed.
func (w *BulkWriter) Write(ctx context.Context, ws []*app.GroupWrite) error {
	if err := w.failed(); err != nil {
		return err
	}
	pre := w.m.pre
	var msgs []*nats.Msg
	var arena []byte // the window's values, one allocation for most
	val := func(b []byte) []byte {
		if cap(arena)-len(arena) < len(b) {
			arena = make([]byte, 0, max(64<<10, len(b)))
		}
		arena = append(arena, b...)
		return arena[len(arena)-len(b) : len(arena) : len(arena)]
	}
	var scratch []byte
	add := func(m *nats.Msg) {
		msgs = append(msgs, m)
		w.written.Messages++
		w.written.KeyBytes += uint64(len(m.Subject) - len(pre))
		w.written.ValueBytes += uint64(len(m.Data))
		w.assigned++
	}
	for _, gw := range ws {
		g := gw.State.ID
		for u := range gw.Touched {
			if mb := gw.State.Members[u]; mb != nil {
				var mv, uv []byte
				if b, ok := appendMember(scratch[:0], g, u, mb); ok {
					mv, scratch = val(b), b
				}
				if b, ok := appendUserGroup(scratch[:0], g, mb); ok && mv != nil {
					uv, scratch = val(b), b
				}
				if uv == nil {
					var err error
					if mv, uv, err = memberValues(g, u, mb); err != nil {
						return err
					}
				}
				add(&nats.Msg{Subject: pre + "m." + g + "." + u, Data: mv})
				add(&nats.Msg{Subject: pre + "u." + u + "." + g, Data: uv})
			} else {
				add(delMsg(pre + memberKey(g, u)))
				add(delMsg(pre + userKey(u, g)))
			}
		}
		iv, err := infoValue(gw)
		if err != nil {
			return err
		}
		gw.InfoRev = w.assigned
		add(&nats.Msg{Subject: pre + infoKey(g), Data: iv})
	}
	if len(msgs) == 0 {
		return nil
	}
	select {
	case w.q <- bulkJob{msgs: msgs}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send publishes m and returns the sequence it will be stored at. proof
// asks for an ack for this write (the last write of a window).
func (w *BulkWriter) send(ctx context.Context, m *nats.Msg, proof bool) (uint64, error) {
	seq := w.next
	w.sinceAck++
	if proof || w.sinceAck >= w.ackEvery {
		f, err := w.m.js.PublishMsgAsync(m)
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", m.Subject, err)
		}
		w.out = append(w.out, sentinel{f: f, seq: seq})
		w.sinceAck = 0
		for len(w.out) > 0 && int(seq-w.out[0].seq) >= w.maxUnproven {
			if err := w.waitOldest(ctx); err != nil {
				return 0, err
			}
		}
	} else if err := w.nc.PublishMsg(m); err != nil {
		return 0, fmt.Errorf("write %s: %w", m.Subject, err)
	}
	w.next++
	return seq, nil
}

func (w *BulkWriter) waitOldest(ctx context.Context) error {
	s := w.out[0]
	w.out = w.out[1:]
	t := w.clock.NewTimer(WriteTimeout)
	defer t.Stop()
	select {
	case ack := <-s.f.Ok():
		if ack.Stream != w.stream || ack.Sequence != s.seq {
			return fmt.Errorf("%w: %s stored at %s/%d, expected %s/%d", ErrBulkGap, s.f.Msg().Subject, ack.Stream, ack.Sequence, w.stream, s.seq)
		}
		return nil
	case err := <-s.f.Err():
		return fmt.Errorf("%w: write %s: %w", ErrBulkGap, s.f.Msg().Subject, err)
	case <-t.Chan():
		return fmt.Errorf("write %s: no ack after %s", s.f.Msg().Subject, WriteTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Written counts the messages written so far (whether proven stored yet
// or not).
func (w *BulkWriter) Written() app.WriteCount { return w.written }

// Drain waits until every write so far is published and proven stored.
func (w *BulkWriter) Drain(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.q <- bulkJob{drain: reply}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
