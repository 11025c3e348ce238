package app

import (
	"context"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// History reads one group's commits from ROSTER_EVENTS: the source of
// truth, never behind, and uncapped. Incremental sync (changes) and
// point-in-time views (at_version) are answered from it.
type History interface {
	// Head returns the stream sequence and version of the group's last
	// commit; events.CodeNotFound when the group has none.
	Head(ctx context.Context, groupID string) (seq, version uint64, err error)
	// Each calls fn with the group's commits from stream sequence from up
	// to and including last, in order, until fn returns false.
	Each(ctx context.Context, groupID string, from, last uint64, fn func(seq uint64, c events.Commit) (bool, error)) error
}

// StateAt folds the group's events up to version at through the domain's
// fold (which upcasts old events), reading from stream sequence from.
func StateAt(ctx context.Context, h History, groupID string, at, from uint64) (*group.State, error) {
	lastSeq, head, err := h.Head(ctx, groupID)
	if err != nil {
		return nil, err
	}
	if at > head {
		return nil, events.Errorf(events.CodeFailedPrecondition, "at_version %d: group %q is at version %d", at, groupID, head)
	}
	s := group.New(groupID)
	err = h.Each(ctx, groupID, from, lastSeq, func(_ uint64, c events.Commit) (bool, error) {
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

// Changes returns up to limit events of the group with a version above
// since, upcast, reading from stream sequence from. It returns where the
// next page starts (sequence, version) and whether there is one.
func Changes(ctx context.Context, h History, groupID string, since, from uint64, limit int) ([]events.Event, uint64, uint64, bool, error) {
	lastSeq, head, err := h.Head(ctx, groupID)
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
	err = h.Each(ctx, groupID, from, lastSeq, func(seq uint64, c events.Commit) (bool, error) {
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
