package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// history reads one group's commits straight from ROSTER_EVENTS: the
// source of truth, never behind, and uncapped. Incremental sync and
// point-in-time views are answered from it.
type history struct {
	stream jetstream.Stream
}

// head returns the sequence and version of the group's last commit;
// events.ErrNotFound when the group has none.
func (h history) head(ctx context.Context, groupID string) (uint64, uint64, error) {
	m, err := h.stream.GetLastMsgForSubject(ctx, events.Subject(groupID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, events.Errorf(events.CodeNotFound, "group %q does not exist", groupID)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("last commit of %s: %w", groupID, err)
	}
	// The Roster-Version header saves decoding the body.
	v, perr := strconv.ParseUint(m.Header.Get("Roster-Version"), 10, 64)
	if perr != nil {
		c, err := decodeCommit(m.Data)
		if err != nil {
			return 0, 0, fmt.Errorf("commit %d: %w", m.Sequence, err)
		}
		v = c.LastVersion()
	}
	return m.Sequence, v, nil
}

// each calls fn with the group's commits from stream sequence from up to
// and including last, in order, until fn returns false.
func (h history) each(ctx context.Context, groupID string, from, last uint64, fn func(seq uint64, c events.Commit) (bool, error)) error {
	from = max(from, 1)
	if from > last {
		return nil
	}
	oc, err := h.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{events.Subject(groupID)},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		InactiveThreshold: readConsumerExpiry,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", groupID, err)
	}
	defer natsx.ReleaseConsumer(h.stream, oc)
	it, err := oc.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return fmt.Errorf("read %s: %w", groupID, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", groupID, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", groupID, err)
		}
		if meta.Sequence.Stream > last {
			return nil // the group has no commit in [from, last]
		}
		c, err := decodeCommit(msg.Data())
		if err != nil {
			return fmt.Errorf("commit %d: %w", meta.Sequence.Stream, err)
		}
		more, err := fn(meta.Sequence.Stream, c)
		if err != nil || !more || meta.Sequence.Stream >= last {
			return err
		}
	}
}

// stateAt folds the group's events up to version at through the domain's
// fold (which upcasts old events).
func (h history) stateAt(ctx context.Context, groupID string, at, from uint64) (*group.State, error) {
	lastSeq, head, err := h.head(ctx, groupID)
	if err != nil {
		return nil, err
	}
	if at > head {
		return nil, events.Errorf(events.CodeFailedPrecondition, "at_version %d: group %q is at version %d", at, groupID, head)
	}
	s := group.New(groupID)
	err = h.each(ctx, groupID, from, lastSeq, func(_ uint64, c events.Commit) (bool, error) {
		for _, e := range c.Events {
			if e.Version > at {
				return false, nil
			}
			if _, err := s.Apply(e); err != nil {
				return false, err
			}
		}
		return s.Version < at, nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// changes returns up to limit events of the group with a version above
// since, upcast, reading from stream sequence from. It returns where the
// next page starts (sequence, version) and whether there is one.
func (h history) changes(ctx context.Context, groupID string, since, from uint64, limit int) ([]events.Event, uint64, uint64, bool, error) {
	lastSeq, head, err := h.head(ctx, groupID)
	if err != nil {
		return nil, 0, 0, false, err
	}
	var (
		out     []events.Event
		nextSeq = from
		upErr   error
	)
	if since >= head {
		return nil, lastSeq + 1, head, false, nil
	}
	err = h.each(ctx, groupID, from, lastSeq, func(seq uint64, c events.Commit) (bool, error) {
		nextSeq = seq
		for _, e := range c.Events {
			if e.Version <= since {
				continue
			}
			if len(out) == limit {
				return false, nil
			}
			up, err := events.Upcast(e)
			if err != nil {
				upErr = err
				return false, nil
			}
			out = append(out, up)
			since = e.Version
		}
		nextSeq = seq + 1
		return true, nil
	})
	if err == nil {
		err = upErr
	}
	if err != nil {
		return nil, 0, 0, false, err
	}
	return out, nextSeq, since, since < head, nil
}

// decodeCommit parses a commit message body (the event store's format):
// the fast path for what the store writes, encoding/json for the rest.
func decodeCommit(data []byte) (events.Commit, error) {
	var c events.Commit
	if !fastDecodeCommit(data, &c) {
		c = events.Commit{}
		if err := json.Unmarshal(data, &c); err != nil {
			return c, fmt.Errorf("decode commit: %w", err)
		}
	}
	if c.GroupID == "" || len(c.Events) == 0 {
		return c, errors.New("decode commit: no group or no events")
	}
	return c, nil
}

// readConsumerExpiry is how long the server keeps a history read's ordered
// consumer when its process died before deleting it.
const readConsumerExpiry = 30 * time.Second
