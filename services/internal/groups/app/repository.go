package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// snapshotTimeout bounds one background snapshot write.
const snapshotTimeout = 30 * time.Second

// Repository loads groups (hot cache, else snapshot + tail of events) and
// appends their commits under optimistic concurrency (Update). It
// serialises work on one group inside this process; across processes the
// OCC check on append keeps groups correct.
type Repository struct {
	events EventStore
	// async is events' pipelined append (nil: Update's loop throughout).
	async       AsyncAppender
	snaps       SnapshotStore // nil: snapshots off
	log         zerolog.Logger
	clock       clockwork.Clock
	metrics     *Metrics
	maxCommands int
	snapEvery   uint64
	maxRetries  int

	cache  *cache
	snapWG sync.WaitGroup
}

// Proposal is what a decision appends: the commit, the typed changes it was
// built from (Changes[i] made Commit.Events[i]) and the headers sent with
// it.
type Proposal struct {
	Commit  events.Commit
	Changes []group.Change
	Headers []eventstore.AppendOption
}

// Updated is what Update did.
type Updated struct {
	// Commit is the commit stored for the command: the one just appended,
	// or for a Duplicate the original.
	Commit    events.Commit
	Duplicate bool
	// MaybeStored is set, with or without an error, once an append was
	// sent that was not a definite conflict: the commit may be (or is) in
	// the store.
	MaybeStored bool
}

// Update decides and appends one command on groupID. A command whose
// commandID the group has accepted before is answered with its original
// commit (Duplicate) without calling decide. Otherwise decide runs on the
// group's current state and what it proposes is appended if the group has
// not moved meanwhile; on a conflict the group is reloaded and decide runs
// again, up to the configured number of times, with a short random pause
// after repeated losses. A rejection by decide on a group that may be
// stale (a cache hit: another process may have appended) is only trusted
// after the group has been caught up.
//
// Errors are typed (events.Error): unavailable for a store that failed,
// conflict when every retry lost; an append too large for the store
// matches ErrTooLarge; decide's own errors are returned as they are. A bug
// (a stored commit that does not fold) is an untyped error: internal, its
// detail logged and kept in the trail, never shown to the caller.
func (r *Repository) Update(ctx context.Context, groupID, commandID string, decide func(*group.State) (Proposal, error)) (Updated, error) {
	o, err := r.begin(ctx, groupID, commandID, decide)
	if err != nil {
		return Updated{}, err
	}
	defer o.unlock()
	return o.loop(ctx)
}

// UpdateAsync is Update with its first append pipelined (docs/adr/0101):
// it takes the group's lock, decides, sends the append without waiting
// for JetStream's ack and returns; done gets what Update would have
// returned. On the common path (the append stored) done runs on the event
// store's ack goroutine, right after the commit is folded and the group's
// lock released, so it must not block. Anything else (a conflict to
// reload, a duplicate, a failure) continues on a goroutine of its own
// exactly as Update would, still under the group's lock, and done runs
// there. When the store cannot append asynchronously, or decide needs
// more than one round (the index holds the command, a stale rejection),
// UpdateAsync runs Update's loop before returning.
//
// The group's lock is held from the decision to the ack, so commands on
// one group stay one at a time and in order; commands on other groups do
// not wait for this one's ack.
func (r *Repository) UpdateAsync(ctx context.Context, groupID, commandID string, decide func(*group.State) (Proposal, error), done func(Updated, error)) {
	o, err := r.begin(ctx, groupID, commandID, decide)
	if err != nil {
		done(Updated{}, err)
		return
	}
	if r.async == nil {
		up, err := o.loop(ctx)
		o.unlock()
		done(up, err)
		return
	}
	p, fin, err := o.prepare(ctx)
	if fin {
		o.unlock()
		done(o.up, err)
		return
	}
	r.async.AppendAsync(p.Commit, o.agg.Seq, func(res eventstore.AppendResult, err error) {
		if err == nil && !res.Duplicate && p.Commit.LastVersion()-o.agg.SnapshotVersion < r.snapEvery {
			_, err := o.appended(ctx, p, res, nil)
			o.unlock()
			done(o.up, err)
			return
		}
		// A conflict pauses and reloads, a duplicate reads the original,
		// a snapshot copies the group: not on the ack goroutine every
		// append shares.
		go func() {
			defer o.unlock()
			if fin, err := o.appended(ctx, p, res, err); fin {
				done(o.up, err)
				return
			}
			o.attempt++
			up, err := o.loop(ctx)
			done(up, err)
		}()
	}, p.Headers...)
}

// update is one command's Update in progress: the group's lock is held
// from begin until unlock.
type update struct {
	r                  *Repository
	groupID, commandID string
	decide             func(*group.State) (Proposal, error)
	unlock             func()
	agg                *Aggregate
	// fresh is true while agg is known to include every commit stored at
	// the time it was loaded. A hot aggregate may be stale when another
	// process appended meanwhile: appends are protected by the OCC check,
	// but a rejection (or a duplicate check) is only trusted on fresh state.
	fresh   bool
	attempt int
	up      Updated
}

// begin takes the group's lock and its aggregate.
func (r *Repository) begin(ctx context.Context, groupID, commandID string, decide func(*group.State) (Proposal, error)) (*update, error) {
	unlock := r.cache.lock(groupID)
	agg, hot, err := r.get(ctx, groupID)
	if err != nil {
		unlock()
		return nil, unavailable(err)
	}
	r.metrics.cacheResult(hot)
	return &update{r: r, groupID: groupID, commandID: commandID, decide: decide, unlock: unlock, agg: agg, fresh: !hot}, nil
}

// loop decides and appends until the command is settled (Update's body).
func (o *update) loop(ctx context.Context) (Updated, error) {
	for ; ; o.attempt++ {
		p, fin, err := o.prepare(ctx)
		if fin {
			return o.up, err
		}
		res, err := o.r.events.Append(ctx, p.Commit, o.agg.Seq, p.Headers...)
		if fin, err := o.appended(ctx, p, res, err); fin {
			return o.up, err
		}
	}
}

// refresh catches the aggregate up with the store.
func (o *update) refresh(ctx context.Context) error {
	if err := o.r.catchUp(ctx, o.agg); err != nil {
		o.r.cache.evict(o.groupID)
		return unavailable(err)
	}
	o.fresh = true
	return nil
}

// prepare answers a command the index holds, or decides on the current
// state (caught up first when a rejection came from a state that may be
// stale) and returns the proposal to append. fin: the command is settled
// with err (and o.up) without an append.
func (o *update) prepare(ctx context.Context) (Proposal, bool, error) {
	for {
		if rec, ok := o.agg.Commands[o.commandID]; ok {
			up, err := o.r.replay(ctx, o.up, rec)
			o.up = up
			return Proposal{}, true, err
		}
		p, err := o.decide(o.agg.State)
		if err != nil && !o.fresh {
			if err := o.refresh(ctx); err != nil {
				return Proposal{}, true, err
			}
			continue
		}
		return p, err != nil, err
	}
}

// appended handles the outcome of appending p. fin: the command is
// settled with err (and o.up); otherwise the group was reloaded after a
// conflict and the command is to be decided again.
func (o *update) appended(ctx context.Context, p Proposal, res eventstore.AppendResult, err error) (bool, error) {
	r := o.r
	if errors.Is(err, ErrTooLarge) {
		// Refused before it was stored: surely unapplied.
		return true, err
	}
	conflict := errors.Is(err, eventstore.ErrConflict)
	if !conflict {
		// Stored (now, or before: a duplicate), or failed in a way that
		// does not say it was not (timeout, lost connection): only a
		// definite conflict leaves the command surely unapplied.
		o.up.MaybeStored = true
	}
	switch {
	case conflict:
		r.metrics.conflicts.Inc()
		if o.attempt+1 >= r.maxRetries {
			return true, events.Wrap(events.CodeConflict, err, "group %q changed concurrently %d times; retry", o.groupID, o.attempt+1)
		}
		// Two processes hammering one group can keep beating each
		// other to the append; a short random pause after repeated
		// losses breaks the lockstep.
		if o.attempt > 0 {
			if err := r.pause(ctx, o.attempt); err != nil {
				return true, unavailable(err)
			}
		}
		if err := o.refresh(ctx); err != nil {
			return true, err
		}
		return false, nil
	case err != nil:
		return true, unavailable(err)
	case res.Duplicate:
		// The store already holds this command's commit: fold what we
		// missed and answer from the index.
		if err := o.refresh(ctx); err != nil {
			return true, err
		}
		rec, ok := o.agg.Commands[o.commandID]
		if !ok {
			return true, fmt.Errorf("command %q reported stored at %d but not found in group %q", o.commandID, res.Seq, o.groupID)
		}
		up, err := r.replay(ctx, o.up, rec)
		o.up = up
		return true, err
	}
	if err := o.agg.applyOwn(res.Seq, p.Commit, p.Changes, r.maxCommands); err != nil {
		// The stored commit is the truth; our copy is suspect.
		r.cache.evict(o.groupID)
		return true, fmt.Errorf("fold own commit: %w", err)
	}
	if o.agg.State.Version-o.agg.SnapshotVersion >= r.snapEvery {
		r.snapshot(o.agg)
	}
	o.up.Commit = p.Commit
	return true, nil
}

// Peek returns a copy of groupID's state for the policy hooks, taken
// under the group's lock and released (the hooks are then called outside
// any lock), and whether commandID is in the group's idempotency index (a
// retry, which is answered without the hooks). The copy may be stale when
// another process appended meanwhile; Update decides on the current state.
// It is peekCopy's: the group's fields and actor's membership, with the
// counts, so a guarded command costs the same in any group size.
func (r *Repository) Peek(ctx context.Context, groupID, commandID, actor string) (Peeked, bool, error) {
	unlock := r.cache.lock(groupID)
	defer unlock()
	agg, hot, err := r.get(ctx, groupID)
	if err != nil {
		return Peeked{}, false, unavailable(err)
	}
	r.metrics.cacheResult(hot)
	if _, ok := agg.Commands[commandID]; ok && commandID != "" {
		return Peeked{}, true, nil
	}
	return peekCopy(agg.State, actor), false, nil
}

// Peeked is what Peek copies of a group.
type Peeked struct {
	// State holds the group's fields; its Members only actor's entry (if
	// a member), its Pending nothing.
	State            *group.State
	Members, Pending int
}

func peekCopy(s *group.State, actor string) Peeked {
	st := *s
	st.Members = make(map[string]*group.Member, 1)
	if m, ok := s.Members[actor]; ok {
		cp := *m
		st.Members[actor] = &cp
	}
	st.Pending = map[string]group.JoinRequest{}
	return Peeked{State: &st, Members: len(s.Members), Pending: len(s.Pending)}
}

// replay answers a repeated command with its original commit.
func (r *Repository) replay(ctx context.Context, up Updated, rec CommandRecord) (Updated, error) {
	stored, err := r.events.Get(ctx, rec.Seq)
	if err != nil {
		return up, unavailable(err)
	}
	up.Commit, up.Duplicate = stored.Commit, true
	return up, nil
}

// pause waits a random time up to 2^attempt x 100µs (at most 25ms) on the
// clock, or until ctx ends.
func (r *Repository) pause(ctx context.Context, attempt int) error {
	ceiling := min(100*time.Microsecond<<attempt, 25*time.Millisecond)
	t := r.clock.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get returns the group's aggregate, loading it when it is not hot. The
// caller holds the group's lock. hot reports a cache hit.
func (r *Repository) get(ctx context.Context, id string) (a *Aggregate, hot bool, err error) {
	if a := r.cache.get(id); a != nil {
		return a, true, nil
	}
	a, err = r.load(ctx, id)
	if err != nil {
		return nil, false, err
	}
	r.cache.put(id, a)
	return a, false, nil
}

// load builds an aggregate from its snapshot (if any) and the events after it.
func (r *Repository) load(ctx context.Context, id string) (*Aggregate, error) {
	a := r.readSnapshot(ctx, id)
	if a == nil {
		a = NewAggregate(id)
	}
	if err := r.catchUp(ctx, a); err != nil {
		return nil, err
	}
	if a.State.Version-a.SnapshotVersion >= r.snapEvery {
		r.snapshot(a)
	}
	return a, nil
}

// catchUp folds the commits stored after a.Seq into a.
func (r *Repository) catchUp(ctx context.Context, a *Aggregate) error {
	_, err := r.events.Load(ctx, a.State.ID, a.Seq, func(s eventstore.Stored) error {
		r.metrics.loaded.Add(float64(len(s.Commit.Events)))
		return a.apply(s.Seq, s.Commit, r.maxCommands)
	})
	if err != nil {
		return fmt.Errorf("load group %s: %w", a.State.ID, err)
	}
	return nil
}

// readSnapshot returns the group's snapshot, or nil when there is none or
// it cannot be used (it is only an optimisation: events are the truth).
func (r *Repository) readSnapshot(ctx context.Context, id string) *Aggregate {
	if r.snaps == nil {
		return nil
	}
	a, err := r.snaps.Get(ctx, id)
	if err != nil {
		if !errors.Is(err, ErrNoSnapshot) {
			r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot unusable; loading from events")
		}
		return nil
	}
	return a
}

// snapshot copies a now (the caller holds the group's lock) and writes the
// copy in the background. A lost snapshot costs only a longer cold load.
func (r *Repository) snapshot(a *Aggregate) {
	if r.snaps == nil {
		return
	}
	// The snapshot records its own version: a process that loads it must
	// see that it is current, or it would write the same snapshot again on
	// every cold load (a full encode of the group on the command's path).
	a.SnapshotVersion = a.State.Version
	// Copy under the group's lock (a few ms for 100,000 members), encode
	// and write off it (the encode is several times the copy), so commands
	// on a large group do not stall behind its snapshot.
	c := a.Clone()
	r.snapWG.Add(1)
	go func() {
		defer r.snapWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		defer cancel()
		if err := r.snaps.Put(ctx, c); err != nil {
			r.log.Warn().Err(err).Str("group_id", c.State.ID).Msg("snapshot write failed")
			return
		}
		r.log.Debug().Str("group_id", c.State.ID).Uint64("version", c.State.Version).Msg("snapshot written")
	}()
}

// Wait blocks until every snapshot write started so far has ended.
func (r *Repository) Wait() { r.snapWG.Wait() }

// unavailable types a storage failure as unavailable, which callers retry.
// The caller reads err's text (which dependency failed is no secret).
func unavailable(err error) error {
	return events.Wrap(events.CodeUnavailable, err, "%s", err)
}
