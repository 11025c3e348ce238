package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// Events reads ROSTER_EVENTS as app.EventReader.
type Events struct {
	Stream jetstream.Stream
	Log    zerolog.Logger
}

// LastSeq is the stream's last sequence.
func (e Events) LastSeq(ctx context.Context) (uint64, error) {
	info, err := e.Stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// rangeIdle ends a range read that receives nothing for this long: the
// range holds no more commits (since after the last one, or a range
// whose end was deleted).
const rangeIdle = 2 * time.Second

// Commits reads r with an ordered consumer, decoding each commit.
func (e Events) Commits(ctx context.Context, r app.SeqRange, fn func(app.Commit) (bool, error)) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: r.FromSeq, InactiveThreshold: 30 * time.Second}
	if r.FromSeq == 0 && r.FromTime != nil {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: r.FromTime, InactiveThreshold: 30 * time.Second}
	}
	cons, err := e.Stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	defer natsx.ReleaseConsumer(e.Stream, cons)
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		nctx, cancel := context.WithTimeout(ctx, rangeIdle)
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil
		}
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		if meta.Sequence.Stream > r.LastSeq {
			return nil
		}
		c, err := DecodeCommit(e.Log, meta.Sequence.Stream, meta.Timestamp, msg.Data())
		if err != nil {
			e.Log.Warn().Err(err).Uint64("seq", meta.Sequence.Stream).Msg("skipping undecodable commit")
			continue
		}
		more, err := fn(c)
		if err != nil || !more {
			return err
		}
	}
}

// DecodeCommit decodes one ROSTER_EVENTS message and upcasts its events
// to their current schema version; an event that cannot be upcast is kept
// as stored (and logged).
func DecodeCommit(log zerolog.Logger, seq uint64, at time.Time, data []byte) (app.Commit, error) {
	c, err := eventstore.DecodeCommit(data)
	if err != nil {
		return app.Commit{}, fmt.Errorf("commit %d: %w", seq, err)
	}
	out := app.Commit{Seq: seq, Time: at, Events: make([]events.Event, 0, len(c.Events))}
	for _, ev := range c.Events {
		if up, err := events.Upcast(ev); err == nil {
			ev = up
		} else {
			log.Warn().Err(err).Str("event_id", ev.ID).Msg("delivering event as stored: cannot upcast")
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
