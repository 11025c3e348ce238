package jsqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// Events reads ROSTER_EVENTS as app.EventReader, through the event
// store's one reader of commits (decode, upcast, range reads: ADR 0073).
type Events struct {
	Stream jetstream.Stream
	Store  *eventstore.Store
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

// Commits reads r with eventstore.Store.Read. A malformed commit is
// skipped and an event that cannot be upcast is passed on as stored, both
// with a warning: a receiver gets what can be sent.
func (e Events) Commits(ctx context.Context, r app.SeqRange, fn func(app.Commit) (bool, error)) error {
	rng := eventstore.Range{FromSeq: r.FromSeq, ToSeq: r.LastSeq, OnError: func(seq uint64, err error) error {
		e.Log.Warn().Err(err).Uint64("seq", seq).Msg("redeliver: commit skipped or passed on as stored")
		return nil
	}}
	if r.FromSeq == 0 && r.FromTime != nil {
		rng.Since = *r.FromTime
	}
	return e.Store.Read(ctx, rng, func(st eventstore.Stored) error {
		more, err := fn(commitOf(st))
		if err == nil && !more {
			return eventstore.StopRead
		}
		return err
	})
}

func commitOf(st eventstore.Stored) app.Commit {
	return app.Commit{Seq: st.Seq, Time: st.Time, Events: st.Commit.Events}
}

// decodeCommit decodes a fan-out message with the event store's decoder.
// Events that cannot be upcast are delivered as stored (logged); a
// malformed commit is an error (the fan-out parks it).
func decodeCommit(log zerolog.Logger, msg jetstream.Msg) (app.Commit, uint64, error) {
	m, err := eventstore.MessageOf(msg)
	if err != nil {
		return app.Commit{}, 0, err
	}
	st, err := eventstore.Decode(m)
	switch {
	case errors.Is(err, eventstore.ErrUpcast):
		log.Warn().Err(err).Uint64("seq", m.Seq).Msg("delivering events as stored: cannot upcast")
	case err != nil:
		return app.Commit{}, m.Seq, fmt.Errorf("commit %d: %w", m.Seq, err)
	}
	return commitOf(st), m.Seq, nil
}
