package jsevents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// ReplayOptions selects the events Replay delivers.
type ReplayOptions struct {
	// GroupID limits the replay to one group; empty means every group.
	GroupID string
	// FromSeq starts at a stream sequence (inclusive).
	FromSeq uint64
	// FromVersion starts at a group version (inclusive); needs GroupID.
	FromVersion uint64
	// Since starts at a time: events that occurred at or after it.
	Since time.Time
	// Follow keeps delivering new events until ctx ends; otherwise Replay
	// returns after the last event stored when it started.
	Follow bool
}

// Validate reports every problem with o.
func (o ReplayOptions) Validate() error {
	var errs []error
	if o.GroupID != "" {
		if err := events.ValidateID("group", o.GroupID); err != nil {
			errs = append(errs, err)
		}
	}
	if o.FromVersion > 0 && o.GroupID == "" {
		errs = append(errs, events.Errorf(events.CodeInvalidArgument, "from-version needs a group"))
	}
	n := 0
	for _, set := range []bool{o.FromSeq > 0, o.FromVersion > 0, !o.Since.IsZero()} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, events.Errorf(events.CodeInvalidArgument, "give at most one of from-seq, from-version, since"))
	}
	return errors.Join(errs...)
}

// Replay calls fn with each selected event, in stream order, upcast to the
// current schema version, together with the stream sequence of its commit.
// It reads through the event store's range reader (eventstore.Store.Read).
func Replay(ctx context.Context, js jetstream.JetStream, o ReplayOptions, fn func(seq uint64, e events.Event) error) error {
	if err := o.Validate(); err != nil {
		return err
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	r := eventstore.Range{GroupID: o.GroupID, FromSeq: o.FromSeq, Follow: o.Follow, Batch: 512}
	if !o.Since.IsZero() {
		// Commits are stored right after their events occur, so the stream
		// time (less a minute of clock skew) is a safe lower bound; events
		// are filtered exactly below.
		r.Since = o.Since.Add(-time.Minute)
	}
	var fnErr error
	err = eventstore.New(js, stream).Read(ctx, r, func(st eventstore.Stored) error {
		for _, e := range st.Commit.Events {
			if e.Version < o.FromVersion || (!o.Since.IsZero() && e.OccurredAt.Before(o.Since)) {
				continue
			}
			if fnErr = fn(st.Seq, e); fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}
