package jsevents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
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
func Replay(ctx context.Context, js jetstream.JetStream, o ReplayOptions, fn func(seq uint64, e events.Event) error) error {
	if err := o.Validate(); err != nil {
		return err
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     events.SubjectPrefix + ">",
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 5 * time.Minute,
		MemoryStorage:     true,
	}
	if o.GroupID != "" {
		cfg.FilterSubject = events.Subject(o.GroupID)
	}
	switch {
	case o.FromSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, o.FromSeq
	case !o.Since.IsZero():
		// Commits are stored right after their events occur, so the stream
		// time is a safe lower bound; events are filtered exactly below.
		t := o.Since.Add(-time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	if !o.Follow && cons.CachedInfo().NumPending == 0 {
		return nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil && o.Follow {
				return nil
			}
			return fmt.Errorf("replay: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		c, err := DecodeCommit(msg.Data())
		if err != nil {
			return fmt.Errorf("replay: commit %d: %w", meta.Sequence.Stream, err)
		}
		for _, e := range c.Events {
			if e.Version < o.FromVersion || (!o.Since.IsZero() && e.OccurredAt.Before(o.Since)) {
				continue
			}
			up, err := events.Upcast(e)
			if err != nil {
				return fmt.Errorf("replay: commit %d: %w", meta.Sequence.Stream, err)
			}
			if err := fn(meta.Sequence.Stream, up); err != nil {
				return err
			}
		}
		if !o.Follow && meta.NumPending == 0 {
			return nil
		}
	}
}
