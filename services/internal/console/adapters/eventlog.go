package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/console/app"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// EventLog is app.EventLog on ROSTER_EVENTS, read through the event store's
// range reader (docs/adr/0073): an ordered consumer per read, deleted when
// the read ends, events upcast.
type EventLog struct {
	JS jetstream.JetStream
}

var _ app.EventLog = EventLog{}

// Read reads r's commits and calls fn with each of their events.
func (l EventLog) Read(ctx context.Context, r app.EventRange, fn func(seq uint64, e events.Event) error) error {
	stream, err := l.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	rg := eventstore.Range{GroupID: r.GroupID, FromSeq: r.FromSeq, ToSeq: r.ToSeq}
	// An event newer than this code is shown as stored rather than hidden.
	rg.OnError = func(seq uint64, err error) error {
		if errors.Is(err, eventstore.ErrUpcast) || errors.Is(err, eventstore.ErrMalformed) {
			return nil
		}
		return err
	}
	err = eventstore.New(l.JS, stream).Read(ctx, rg, func(st eventstore.Stored) error {
		for _, e := range st.Commit.Events {
			if err := fn(st.Seq, e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, app.ErrStop) {
		return nil
	}
	return err
}

// LastSeq is ROSTER_EVENTS' last sequence.
func (l EventLog) LastSeq(ctx context.Context) (uint64, error) {
	stream, err := l.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	return stream.CachedInfo().State.LastSeq, nil
}
