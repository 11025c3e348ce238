package kvmodel

import (
	"context"
	"errors"
	"fmt"

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

// BulkWriter publishes a fresh generation's writes with few acks.
type BulkWriter struct {
	m           *Model
	nc          *nats.Conn
	clock       clockwork.Clock
	stream      string // the bucket's stream name
	next        uint64 // the sequence the next write will be stored at
	ackEvery    int
	maxUnproven int
	sinceAck    int
	out         []sentinel // acked writes in flight, oldest first
	written     app.WriteCount
}

type sentinel struct {
	f   jetstream.PubAckFuture
	seq uint64
}

// BulkWriter returns a bulk writer of m, which must be empty.
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
	return &BulkWriter{
		m: m, nc: m.js.Conn(), clock: m.clock, stream: info.Config.Name, next: info.State.LastSeq + 1,
		ackEvery: max(o.AckEvery, 1), maxUnproven: max(o.MaxUnproven, o.AckEvery, 1),
	}, nil
}

// Write sends a window's records: each touched member and index key once,
// then each group's info key (last, as the live projector writes it),
// setting InfoRev to the sequence it will be stored at (what the guarded
// tail's CAS expects). The window's last write asks for proof, so the next
// window's writes are counted from a proven point.
func (w *BulkWriter) Write(ctx context.Context, ws []*app.GroupWrite) error {
	pre := w.m.pre
	for i, gw := range ws {
		g := gw.State.ID
		for u := range gw.Touched {
			var err error
			if mb := gw.State.Members[u]; mb != nil {
				mv, uv, merr := memberValues(g, u, mb)
				if merr != nil {
					return merr
				}
				if _, err = w.send(ctx, &nats.Msg{Subject: pre + memberKey(g, u), Data: mv}, false); err == nil {
					_, err = w.send(ctx, &nats.Msg{Subject: pre + userKey(u, g), Data: uv}, false)
				}
			} else {
				if _, err = w.send(ctx, delMsg(pre+memberKey(g, u)), false); err == nil {
					_, err = w.send(ctx, delMsg(pre+userKey(u, g)), false)
				}
			}
			if err != nil {
				return err
			}
		}
		iv, err := infoValue(gw)
		if err != nil {
			return err
		}
		seq, err := w.send(ctx, &nats.Msg{Subject: pre + infoKey(g), Data: iv}, i == len(ws)-1)
		if err != nil {
			return err
		}
		gw.InfoRev = seq
	}
	return nil
}

// send publishes m and returns the sequence it will be stored at. proof
// asks for an ack for this write (the last write of a window).
func (w *BulkWriter) send(ctx context.Context, m *nats.Msg, proof bool) (uint64, error) {
	seq := w.next
	w.written.Messages++
	w.written.KeyBytes += uint64(len(m.Subject) - len(w.m.pre))
	w.written.ValueBytes += uint64(len(m.Data))
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

// Written counts the messages sent so far (whether proven stored yet or
// not).
func (w *BulkWriter) Written() app.WriteCount { return w.written }

// Drain waits until every write sent so far is proven stored.
func (w *BulkWriter) Drain(ctx context.Context) error {
	for len(w.out) > 0 {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}
