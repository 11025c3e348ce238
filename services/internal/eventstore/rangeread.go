package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// Range reads (Store.Read) serve what reads a span of the log rather than
// one group's tail for a command: history queries, replay, webhook
// redelivery, rebuilds. They go through an ordered consumer, which the
// server pushes in flow-controlled batches, and delete it when the read
// ends (natsx.ReleaseConsumer), so reads in flight bound the consumers on
// ROSTER_EVENTS (docs/adr/0006).

// Range selects commits for Store.Read.
type Range struct {
	// GroupID limits the read to one group; empty reads every group.
	GroupID string
	// FromSeq is the first stream sequence (inclusive); 0 starts at the
	// beginning.
	FromSeq uint64
	// Since starts at the first commit the stream stored at or after it,
	// instead of FromSeq (give at most one of them).
	Since time.Time
	// ToSeq is the last stream sequence (inclusive); 0 reads to the last
	// commit stored when the read starts.
	ToSeq uint64
	// Follow keeps reading commits appended after the read started, until
	// ctx ends (Read then returns nil). ToSeq must be 0.
	Follow bool
	// AsStored hands events over as stored (DecodeAsStored) instead of
	// upcast (Decode): for the audit trail.
	AsStored bool
	// OnError is called with a commit's decode error (wrapping
	// ErrMalformed or ErrUpcast). It returns nil to go on: after ErrUpcast
	// fn gets the commit with those events as stored; a malformed commit
	// is skipped. Anything else stops the read with that error. Nil stops
	// at the first decode error.
	OnError func(seq uint64, err error) error
	// Batch bounds the commits buffered from the server (default 256).
	Batch int
}

// Validate reports every problem with r.
func (r Range) Validate() error {
	var errs []error
	if r.GroupID != "" {
		if err := validGroup(r.GroupID); err != nil {
			errs = append(errs, err)
		}
	}
	if r.FromSeq != 0 && !r.Since.IsZero() {
		errs = append(errs, errors.New("range: give at most one of from-seq and since"))
	}
	if r.Follow && r.ToSeq != 0 {
		errs = append(errs, errors.New("range: follow reads to no end sequence"))
	}
	if r.ToSeq != 0 && r.ToSeq < r.FromSeq {
		errs = append(errs, fmt.Errorf("range: to-seq %d is before from-seq %d", r.ToSeq, r.FromSeq))
	}
	if r.Batch < 0 {
		errs = append(errs, errors.New("range: batch must not be negative"))
	}
	return errors.Join(errs...)
}

// StopRead, returned by a Read callback, ends the read early without an
// error.
var StopRead = errors.New("stop reading")

// readConsumerExpiry is how long the server keeps a range read's consumer
// when its process died before deleting it.
const readConsumerExpiry = 30 * time.Second

// Read calls fn with each commit of r, in stream order, and returns when
// the range is read, fn returns an error (StopRead: nil), or ctx ends.
// Without Follow it never waits for commits: the end of the range is
// fixed before the consumer is created, from the stream leader.
func (s *Store) Read(ctx context.Context, r Range, fn func(Stored) error) error {
	if err := r.Validate(); err != nil {
		return err
	}
	subject := events.SubjectPrefix + ">"
	if r.GroupID != "" {
		subject = events.Subject(r.GroupID)
	}
	from := max(r.FromSeq, 1)
	if !r.Since.IsZero() {
		first, ok, err := s.leaderGet(ctx, msgGetRequest{StartTime: &r.Since, NextFor: subject})
		if err != nil {
			return fmt.Errorf("read %s since %s: %w", subject, r.Since.Format(time.RFC3339Nano), err)
		}
		if !ok && !r.Follow {
			return nil // nothing stored since
		}
		if ok {
			from = first.Seq
		} else if from, err = s.nextSeq(ctx); err != nil {
			return fmt.Errorf("read %s: %w", subject, err)
		}
	}
	last := r.ToSeq
	if !r.Follow {
		head, err := s.lastSeq(ctx, r.GroupID)
		if err != nil {
			return fmt.Errorf("read %s: %w", subject, err)
		}
		if last == 0 || head < last {
			last = head
		}
		if last < from {
			return nil
		}
	}
	batch := r.Batch
	if batch == 0 {
		batch = 256
	}
	oc, err := s.events.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		InactiveThreshold: readConsumerExpiry,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", subject, err)
	}
	defer natsx.ReleaseConsumer(s.events, oc)
	it, err := oc.Messages(jetstream.PullMaxMessages(batch))
	if err != nil {
		return fmt.Errorf("read %s: %w", subject, err)
	}
	defer it.Stop()
	decode := Decode
	if r.AsStored {
		decode = DecodeAsStored
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if r.Follow && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read %s: %w", subject, err)
		}
		m, err := MessageOf(msg)
		if err != nil {
			return fmt.Errorf("read %s: %w", subject, err)
		}
		if !r.Follow && m.Seq > last {
			return nil // the filter has nothing more in the range
		}
		st, err := decode(m)
		switch {
		case err == nil:
		case r.OnError == nil:
			return fmt.Errorf("read %s at %d: %w", subject, m.Seq, err)
		default:
			if herr := r.OnError(m.Seq, err); herr != nil {
				return herr
			}
			if !errors.Is(err, ErrUpcast) {
				if !r.Follow && m.Seq >= last {
					return nil
				}
				continue
			}
		}
		if err := fn(st); err != nil {
			if errors.Is(err, StopRead) {
				return nil
			}
			return err
		}
		if !r.Follow && m.Seq >= last {
			return nil
		}
	}
}

// lastSeq is the stream sequence of the group's last commit (every
// group's, for ""), from the stream leader; 0 when there is none.
func (s *Store) lastSeq(ctx context.Context, groupID string) (uint64, error) {
	if groupID != "" {
		return s.LastSeq(ctx, groupID)
	}
	next, err := s.nextSeq(ctx)
	return next - 1, err
}

// nextSeq is the sequence the stream's next commit will get.
func (s *Store) nextSeq(ctx context.Context) (uint64, error) {
	rctx, cancel := readContext(ctx, s.cfg.ReadTimeout)
	defer cancel()
	info, err := s.events.Info(rctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.LastSeq + 1, nil
}
