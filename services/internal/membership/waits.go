package membership

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rosterhq/roster/events"
)

// Bounds on min_version (docs/adr/0051-bounded-waits-and-header-caps.md).
const (
	// MaxMinVersion is the largest min_version a query may name: 2^53, the
	// largest integer every JSON client reads exactly. No group gets near
	// it; a larger value is a bug or an attack, refused invalid_argument.
	MaxMinVersion = 1 << 53
	// DefaultMaxVersionAhead is how far beyond the projection's version of
	// a group min_version may be (QueryConfig.MaxVersionAhead). A version
	// a command returned is at most the projection's lag ahead; one far
	// beyond cannot be reached within MaxWait, so it is refused at once
	// (invalid_argument) instead of holding a watch for MaxWait.
	DefaultMaxVersionAhead = 1_000_000
	// DefaultMaxWaiting bounds the queries parked on a min_version wait
	// at once (QueryConfig.MaxWaiting); each holds a KV watch.
	DefaultMaxWaiting = 256
)

// workerSlot tracks whether a query's goroutine holds one of the
// MaxInFlight worker slots. A query that has to wait for min_version gives
// its slot back for the wait, so parked queries never take the workers
// plain queries need.
type workerSlot struct{ held bool }

type workerSlotKey struct{}

func withWorkerSlot(ctx context.Context, s *workerSlot) context.Context {
	return context.WithValue(ctx, workerSlotKey{}, s)
}

// checkMinVersion refuses a min_version no command can have returned.
func (q *Queries) checkMinVersion(groupID string, minVersion, have uint64) error {
	if minVersion > MaxMinVersion {
		return errMinVersionTooLarge(minVersion)
	}
	if minVersion-have > uint64(q.cfg.MaxVersionAhead) {
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

// waitRegistry holds each generation's infoWaits.
type waitRegistry struct {
	mu   sync.Mutex
	base context.Context
	by   map[*model]*infoWaits
}

// setBase names the context shared watches live in (Run's).
func (r *waitRegistry) setBase(ctx context.Context) {
	r.mu.Lock()
	r.base = ctx
	r.mu.Unlock()
}

func (r *waitRegistry) of(m *model) *infoWaits {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[*model]*infoWaits{}
	}
	w, ok := r.by[m]
	if !ok {
		base := r.base
		if base == nil {
			base = context.Background()
		}
		w = newInfoWaits(base, m)
		r.by[m] = w
	}
	return w
}

// waitInfo waits, at most MaxWait, for the group's info to reach
// minVersion, on the generation's shared info watch.
func (q *Queries) waitInfo(ctx context.Context, m *model, groupID string, minVersion uint64) (GroupInfo, error) {
	waits := q.waits.of(m)
	wt, err := waits.register(groupID, minVersion)
	if err != nil {
		return GroupInfo{}, err
	}
	defer waits.unregister(wt)
	// Read again now that updates reach the waiter: one that landed since
	// the caller's read would otherwise be missed.
	info, _, err := m.info(ctx, groupID)
	switch {
	case err == nil && info.Version >= minVersion:
		return info, nil
	case err != nil && !errors.Is(err, events.ErrNotFound):
		return info, err
	}
	t := time.NewTimer(q.cfg.MaxWait)
	defer t.Stop()
	select {
	case gi := <-wt.reached:
		return gi, nil
	case <-ctx.Done():
		return info, ctx.Err()
	case <-t.C:
		if last, _, err := m.info(ctx, groupID); err == nil {
			info = last
		}
		return info, events.Errorf(events.CodeTimeout, "group %q did not reach version %d within %s (projection is at version %d)",
			groupID, minVersion, q.cfg.MaxWait, info.Version)
	}
}
