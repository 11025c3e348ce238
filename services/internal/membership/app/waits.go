package app

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/events"
)

// Bounds on min_version (docs/adr/0051-bounded-waits-and-header-caps.md).
const (
	// MaxMinVersion is the largest min_version a query may name: 2^53, the
	// largest integer every JSON client reads exactly. No group gets near
	// it; a larger value is a bug or an attack, refused invalid_argument.
	MaxMinVersion = 1 << 53
	// DefaultMaxVersionAhead is how far beyond the projection's version of
	// a group min_version may be (QueriesConfig.MaxVersionAhead). A version
	// a command returned is at most the projection's lag ahead; one far
	// beyond cannot be reached within MaxWait, so it is refused at once
	// (invalid_argument) instead of holding a watch for MaxWait.
	DefaultMaxVersionAhead = 1_000_000
	// DefaultMaxWaiting bounds the queries parked on a min_version wait
	// at once (QueriesConfig.MaxWaiting); each holds a watch registration.
	DefaultMaxWaiting = 256
)

// workerSlot tracks whether a query holds one of the MaxInFlight worker
// slots. A query that has to wait for min_version gives its slot back for
// the wait, so parked queries never take the workers plain queries need.
type workerSlot struct{ held bool }

type workerSlotKey struct{}

// groupInfo reads a group's info, waiting (bounded) until it reaches
// minVersion.
func (q *Queries) groupInfo(ctx context.Context, m ModelReader, groupID string, minVersion uint64) (_ GroupInfo, rerr error) {
	if minVersion > MaxMinVersion {
		// Refused before any read: a flood of these costs no I/O.
		return GroupInfo{}, errMinVersionTooLarge(minVersion)
	}
	info, _, err := m.GroupInfo(ctx, groupID)
	if minVersion == 0 || (err == nil && info.Version >= minVersion) {
		return info, err
	}
	if err != nil && !errors.Is(err, events.ErrNotFound) {
		return info, err
	}
	if err := q.checkMinVersion(groupID, minVersion, info.Version); err != nil {
		return info, err
	}
	end, err := q.beginWait(ctx)
	if err != nil {
		return info, err
	}
	defer func() {
		if eerr := end(); eerr != nil && rerr == nil {
			rerr = eerr
		}
	}()
	return q.waitInfo(ctx, m, groupID, minVersion)
}

// checkMinVersion refuses a min_version no command can have returned.
func (q *Queries) checkMinVersion(groupID string, minVersion, have uint64) error {
	if minVersion > MaxMinVersion {
		return errMinVersionTooLarge(minVersion)
	}
	if minVersion-have > q.cfg.MaxVersionAhead {
		return events.Errorf(events.CodeInvalidArgument,
			"min_version %d is more than %d beyond group %q's version %d: not a version a command returned",
			minVersion, q.cfg.MaxVersionAhead, groupID, have)
	}
	return nil
}

func errMinVersionTooLarge(minVersion uint64) error {
	return events.Errorf(events.CodeInvalidArgument, "min_version %d: at most %d", minVersion, uint64(MaxMinVersion))
}

// beginWait moves the calling query from the worker pool to the wait
// pool. When the wait pool is full the query is refused at once
// (unavailable: retry shortly) rather than queued. end returns the query
// to the worker pool (waiting for a slot, as a new query would) and frees
// its wait slot; it fails only when ctx ends first.
func (q *Queries) beginWait(ctx context.Context) (end func() error, err error) {
	select {
	case q.waiting <- struct{}{}:
	default:
		return nil, events.Errorf(events.CodeUnavailable, "%d queries are already waiting for min_version; retry shortly", cap(q.waiting))
	}
	slot, _ := ctx.Value(workerSlotKey{}).(*workerSlot)
	if slot != nil && slot.held {
		<-q.workers
		slot.held = false
	}
	return func() error {
		<-q.waiting
		if slot == nil {
			return nil
		}
		select {
		case q.workers <- struct{}{}:
			slot.held = true
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// waitInfo waits, at most MaxWait, for the group's info to reach
// minVersion.
func (q *Queries) waitInfo(ctx context.Context, m ModelReader, groupID string, minVersion uint64) (GroupInfo, error) {
	wt, err := m.WatchInfo(groupID, minVersion)
	if err != nil {
		return GroupInfo{}, err
	}
	defer wt.Stop()
	// Read again now that updates reach the watch: one that landed since
	// the caller's read would otherwise be missed.
	info, _, err := m.GroupInfo(ctx, groupID)
	switch {
	case err == nil && info.Version >= minVersion:
		return info, nil
	case err != nil && !errors.Is(err, events.ErrNotFound):
		return info, err
	}
	t := q.cfg.Clock.NewTimer(q.cfg.MaxWait)
	defer t.Stop()
	select {
	case gi := <-wt.Reached():
		return gi, nil
	case <-ctx.Done():
		return info, ctx.Err()
	case <-t.Chan():
		if last, _, err := m.GroupInfo(ctx, groupID); err == nil {
			info = last
		}
		return info, events.Errorf(events.CodeTimeout, "group %q did not reach version %d within %s (projection is at version %d)",
			groupID, minVersion, q.cfg.MaxWait, info.Version)
	}
}
