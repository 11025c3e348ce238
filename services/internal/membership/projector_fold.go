package membership

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// crashError stops the projector without acknowledging anything (tests).
type crashError struct{ stage string }

func (e *crashError) Error() string { return "simulated crash at " + e.stage }

type genRunner struct {
	p     *Projector
	log   zerolog.Logger
	m     app.ModelWriter
	cache *stateCache
	hist  app.History
}

// pending is one commit of a batch and what became of it.
type pending struct {
	msg     jetstream.Msg
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
func (r *genRunner) apply(ctx context.Context, batch []jetstream.Msg) error {
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
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.NakWithDelay(r.p.cfg.RetryDelay)
			continue
		}
		it := pending{msg: msg, seq: meta.Sequence.Stream}
		lastSeq, lastPen = max(lastSeq, it.seq), meta.NumPending
		c, err := jsevents.DecodeCommit(msg.Data())
		if err != nil {
			// The log is immutable: a commit we cannot read stays in front
			// of its group until a fixed projector reads it. Never skip it,
			// or every later commit of the group would be folded on a
			// wrong state.
			r.log.Error().Err(err).Uint64("seq", it.seq).Msg("undecodable commit")
			r.p.stats.failures.Add(1)
			_ = msg.NakWithDelay(poisonDelay)
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
			r.p.stats.redelivered.Add(1)
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
			r.log.Error().Err(err).Str("group", c.GroupID).Uint64("seq", it.seq).Msg("cannot fold commit; retrying")
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
			_ = it.msg.NakWithDelay(r.p.cfg.RetryDelay)
		case it.ok:
			_ = it.msg.Ack()
			commits++
		}
	}
	r.cache.trim(nil)
	st := &r.p.stats
	st.commits.Add(commits)
	st.evs.Add(evCount)
	if lastSeq > st.applied.Load() {
		st.applied.Store(lastSeq)
	}
	st.pending.Store(lastPen)
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
func (r *genRunner) catchUp(ctx context.Context, h *hot, groupID string, seq uint64, touched map[string]bool) error {
	from := h.appliedSeq + 1
	if h.appliedSeq == 0 {
		from = 1
	}
	return r.hist.Each(ctx, groupID, from, seq-1, func(s uint64, c events.Commit) (bool, error) {
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
func (r *genRunner) load(ctx context.Context, groupID string) (*hot, error) {
	if h := r.cache.get(groupID); h != nil {
		return h, nil
	}
	info, rev, err := r.m.GroupInfo(ctx, groupID)
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
		_, _, err = r.m.Members(ctx, groupID, 0, -1, func(mb app.Member) bool {
			members[mb.UserID] = mb.State()
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("load members of %s: %w", groupID, err)
		}
	}
	h := &hot{state: app.StateFrom(info, members), infoRev: rev, appliedSeq: info.AppliedSeq, firstSeq: info.FirstSeq}
	r.cache.put(groupID, h)
	return h, nil
}
