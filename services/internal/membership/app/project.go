package app

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// The projector's use case: fold delivered commits with the domain's own
// fold (group.State.Apply) and store what they changed through the
// ModelWriter port. A member.removed event, for instance, is folded by
// Apply below (the Delta names the user), and write then deletes the
// member's two records before the group's info record moves on.

// Delivery is one commit delivered by the projector's feed (a durable
// consumer of ROSTER_EVENTS), acknowledged once its effect is stored.
type Delivery interface {
	// Seq is the commit's stream sequence; Pending how many commits the
	// feed had not delivered yet when this one came (the lag).
	Seq() uint64
	Pending() uint64
	// Commit decodes the commit.
	Commit() (events.Commit, error)
	// Ack acknowledges the commit; Nak asks for it again after delay.
	Ack()
	Nak(delay time.Duration)
}

// PoisonDelay spaces out retries of a commit this code cannot decode: it
// will not decode until the projector is fixed, and every retry logs.
const PoisonDelay = 30 * time.Second

// Stats is what the projector reports about its progress.
type Stats struct {
	Generation uint64
	// AppliedSeq is the stream sequence of the last commit applied.
	AppliedSeq uint64
	// Pending is how many commits of the stream were not yet delivered to
	// the projector when it last received one: the lag, in commits.
	Pending uint64
	// Commits and Events count what this process applied.
	Commits, Events uint64
	// Redelivered counts commits skipped because already applied.
	Redelivered uint64
	// Failures counts batches or commits that had to be retried.
	Failures uint64
}

// Counters are the live counters behind Stats; safe for concurrent use.
type Counters struct {
	Gen, Applied, Pending, Commits, Events, Redelivered, Failures atomic.Uint64
}

// Snapshot reads the counters.
func (s *Counters) Snapshot() Stats {
	return Stats{
		Generation: s.Gen.Load(), AppliedSeq: s.Applied.Load(), Pending: s.Pending.Load(),
		Commits: s.Commits.Load(), Events: s.Events.Load(), Redelivered: s.Redelivered.Load(), Failures: s.Failures.Load(),
	}
}

// CrashError stops the projector without acknowledging anything (tests).
type CrashError struct{ Stage string }

func (e *CrashError) Error() string { return "simulated crash at " + e.Stage }

// FoldConfig configures a Fold.
type FoldConfig struct {
	// Model is the generation written.
	Model ModelWriter
	// History reads commits the feed has not delivered in order.
	History History
	Log     zerolog.Logger
	// MaxCachedMembers bounds the hot group states kept in memory, counted
	// in members. A group that falls out is reloaded from Model.
	MaxCachedMembers int
	// RetryDelay delays the redelivery of a commit that could not be
	// applied now.
	RetryDelay time.Duration
	// Counters receive the progress (shared across generations).
	Counters *Counters
	// CrashAt, when set (tests), is called at each write stage of a batch;
	// an error returned stops the fold on the spot with a *CrashError, as
	// a crash would: nothing more is written, acknowledged or nacked.
	CrashAt func(stage string) error
}

// Fold folds commits into one generation. Used by one goroutine.
type Fold struct {
	cfg   FoldConfig
	cache *stateCache
}

// NewFold returns a Fold with nothing in memory.
func NewFold(cfg FoldConfig) *Fold {
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	return &Fold{cfg: cfg, cache: newStateCache(cfg.MaxCachedMembers)}
}

// pending is one commit of a batch and what became of it.
type pending struct {
	msg     Delivery
	seq     uint64
	groupID string
	ok      bool // applied (or already applied): ack after the write
}

// apply folds a batch of commits and writes what they changed: first every
// touched member key, then each touched group's info key (the commit point,
// written with a CAS), then the acks. A crash anywhere in between leaves
// commits unacknowledged; they come back and the guard (version and
// applied sequence in the info key) folds them again from the state the
// model holds, which converges to the same keys: every member value is a
// function of the events alone.
func (r *Fold) Apply(ctx context.Context, batch []Delivery) error {
	var (
		items   = make([]pending, 0, len(batch))
		failed  = map[string]bool{}
		dirty   = map[string]map[string]bool{} // group -> touched users
		order   []string                       // dirty groups in first-touch order
		lastSeq uint64
		lastPen uint64
		evCount uint64
	)
	for _, msg := range batch {
		it := pending{msg: msg, seq: msg.Seq()}
		lastSeq, lastPen = max(lastSeq, it.seq), msg.Pending()
		c, err := msg.Commit()
		if err != nil {
			// The log is immutable: a commit we cannot read stays in front
			// of its group until a fixed projector reads it. Never skip it,
			// or every later commit of the group would be folded on a
			// wrong state.
			r.cfg.Log.Error().Err(err).Uint64("seq", it.seq).Msg("undecodable commit")
			r.cfg.Counters.Failures.Add(1)
			msg.Nak(PoisonDelay)
			continue
		}
		it.groupID = c.GroupID
		if failed[c.GroupID] {
			items = append(items, it)
			continue
		}
		h, err := r.load(ctx, c.GroupID)
		if err != nil {
			// States folded so far in this batch are ahead of the model
			// and must not survive: the batch comes back as a whole.
			for _, g := range order {
				r.cache.evict(g)
			}
			return err
		}
		first := c.Events[0].Version
		if it.seq <= h.appliedSeq || first <= h.state.Version {
			r.cfg.Counters.Redelivered.Add(1)
			it.ok = true
			items = append(items, it)
			continue
		}
		touched := dirty[c.GroupID]
		if touched == nil {
			touched = map[string]bool{}
		}
		err = nil
		if first != h.state.Version+1 {
			// Its predecessors are not applied yet (they are being
			// redelivered after a crash, or were nacked): read them from the
			// stream instead of waiting for redelivery in the right order.
			err = r.catchUp(ctx, h, c.GroupID, it.seq, touched)
		}
		if err == nil {
			err = fold(h, c, touched)
		}
		if err != nil {
			r.cfg.Log.Error().Err(err).Str("group", c.GroupID).Uint64("seq", it.seq).Msg("cannot fold commit; retrying")
			failed[c.GroupID] = true
			r.cache.evict(c.GroupID) // its state may be half-folded
			items = append(items, it)
			continue
		}
		r.cache.resize(h)
		if dirty[c.GroupID] == nil {
			dirty[c.GroupID] = touched
			order = append(order, c.GroupID)
		}
		h.appliedSeq = it.seq
		if h.firstSeq == 0 {
			h.firstSeq = it.seq
		}
		evCount += uint64(len(c.Events))
		it.ok = true
		items = append(items, it)
	}
	// A group that failed in this batch is written by none of its commits:
	// the ones folded before the failure come back with it.
	for g := range failed {
		if dirty[g] != nil {
			delete(dirty, g)
		}
	}
	if err := r.write(ctx, order, dirty); err != nil {
		for _, g := range order {
			r.cache.evict(g) // memory may now be ahead of the model
		}
		return err
	}
	var commits uint64
	for _, it := range items {
		switch {
		case failed[it.groupID]:
			it.msg.Nak(r.cfg.RetryDelay)
		case it.ok:
			it.msg.Ack()
			commits++
		}
	}
	r.cache.trim(nil)
	st := r.cfg.Counters
	st.Commits.Add(commits)
	st.Events.Add(evCount)
	if lastSeq > st.Applied.Load() {
		st.Applied.Store(lastSeq)
	}
	st.Pending.Store(lastPen)
	return nil
}

// fold applies commit c to h and records the members it touched.
func fold(h *hot, c events.Commit, touched map[string]bool) error {
	if first := c.Events[0].Version; first != h.state.Version+1 {
		return fmt.Errorf("commit %s of %s starts at version %d, group is at %d", c.CommandID, c.GroupID, first, h.state.Version)
	}
	for _, e := range c.Events {
		d, err := h.state.Apply(e)
		if err != nil {
			return err
		}
		for _, u := range d.Upserted {
			touched[u] = true
		}
		for _, u := range d.Removed {
			touched[u] = true
		}
	}
	return nil
}

// catchUp folds the group's commits the model lacks before stream
// sequence seq, read from the stream.
func (r *Fold) catchUp(ctx context.Context, h *hot, groupID string, seq uint64, touched map[string]bool) error {
	from := h.appliedSeq + 1
	if h.appliedSeq == 0 {
		from = 1
	}
	return r.cfg.History.Each(ctx, groupID, from, seq-1, func(s uint64, c events.Commit) (bool, error) {
		if len(c.Events) == 0 || c.Events[0].Version <= h.state.Version {
			return true, nil
		}
		if err := fold(h, c, touched); err != nil {
			return false, err
		}
		h.appliedSeq = s
		if h.firstSeq == 0 {
			h.firstSeq = s
		}
		return true, nil
	})
}

// load returns the hot state of groupID, reading it from the model when it
// is not in memory.
func (r *Fold) load(ctx context.Context, groupID string) (*hot, error) {
	if h := r.cache.get(groupID); h != nil {
		return h, nil
	}
	info, rev, err := r.cfg.Model.GroupInfo(ctx, groupID)
	if errors.Is(err, events.ErrNotFound) {
		h := &hot{state: group.New(groupID)}
		r.cache.put(groupID, h)
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	members := map[string]*group.Member{}
	if !info.Dismissed {
		_, _, err = r.cfg.Model.Members(ctx, groupID, 0, -1, func(mb Member) bool {
			members[mb.UserID] = mb.State()
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("load members of %s: %w", groupID, err)
		}
	}
	h := &hot{state: StateFrom(info, members), infoRev: rev, appliedSeq: info.AppliedSeq, firstSeq: info.FirstSeq}
	r.cache.put(groupID, h)
	return h, nil
}
