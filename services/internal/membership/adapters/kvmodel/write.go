package kvmodel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/membership/app"
)

// WriteTimeout bounds the writes of one batch: async publish acks have no
// deadline of their own, and a lost ack must fail the batch (it is
// retried), not stall the projector.
const WriteTimeout = 30 * time.Second

// WriteMembers stores the touched member and index keys of every write,
// without waiting for each ack, and returns once all are stored: a batch
// costs about one round trip instead of one per key.
func (m *Model) WriteMembers(ctx context.Context, ws []*app.GroupWrite) error {
	ctx, cancel := clockwork.WithTimeout(ctx, m.clock, WriteTimeout)
	defer cancel()
	w := asyncWriter{js: m.js}
	for _, gw := range ws {
		g := gw.State.ID
		for u := range gw.Touched {
			if mb := gw.State.Members[u]; mb != nil {
				mv, uv, err := memberValues(g, u, mb)
				if err != nil {
					return err
				}
				if err := w.put(ctx, m.pre+memberKey(g, u), mv); err != nil {
					return err
				}
				if err := w.put(ctx, m.pre+userKey(u, g), uv); err != nil {
					return err
				}
			} else {
				if err := w.publish(ctx, delMsg(m.pre+memberKey(g, u))); err != nil {
					return err
				}
				if err := w.publish(ctx, delMsg(m.pre+userKey(u, g))); err != nil {
					return err
				}
			}
		}
	}
	return w.wait(ctx)
}

// WriteInfos stores each group's info key with a CAS on its revision: a
// second projector (or a stale cache) cannot move a group backwards; the
// loser reloads and finds the commit applied.
func (m *Model) WriteInfos(ctx context.Context, ws []*app.GroupWrite) error {
	ctx, cancel := clockwork.WithTimeout(ctx, m.clock, WriteTimeout)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, len(ws))
	for i, gw := range ws {
		b, err := infoValue(gw)
		if err != nil {
			return err
		}
		msg := nats.NewMsg(m.pre + infoKey(gw.State.ID))
		msg.Data = b
		f, err := m.js.PublishMsgAsync(msg, jetstream.WithExpectLastSequencePerSubject(gw.InfoRev))
		if err != nil {
			return fmt.Errorf("write group %s: %w", gw.State.ID, err)
		}
		futs[i] = f
	}
	var errs []error
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			ws[i].InfoRev = ack.Sequence
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("write group %s: %w", ws[i].State.ID, err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// asyncWriter publishes KV writes without waiting for each ack, and waits
// for all of them before the caller goes on.
type asyncWriter struct {
	js   jetstream.JetStream
	futs []jetstream.PubAckFuture
}

func (w *asyncWriter) put(ctx context.Context, subject string, val []byte) error {
	m := nats.NewMsg(subject)
	m.Data = val
	return w.publish(ctx, m)
}

func (w *asyncWriter) publish(ctx context.Context, m *nats.Msg) error {
	if len(w.futs) >= 1024 {
		if err := w.wait(ctx); err != nil {
			return err
		}
	}
	f, err := w.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("write %s: %w", m.Subject, err)
	}
	w.futs = append(w.futs, f)
	return nil
}

func (w *asyncWriter) wait(ctx context.Context) error {
	defer func() { w.futs = w.futs[:0] }()
	for _, f := range w.futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("write %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// delMsg is a KV delete marker, as jetstream.KeyValue.Delete writes it.
func delMsg(subject string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set("KV-Operation", "DEL")
	return m
}
