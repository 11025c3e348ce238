package app

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// The bulk phase of a rebuild (ADR 0035): the stream's commits, read in
// order by one reader, folded in windows into a generation nobody else
// writes or reads, each touched record written once per window with its
// final value.

// StreamCommit is one commit of an ordered read of the stream.
type StreamCommit struct {
	Seq, Pending uint64
	Commit       events.Commit
	Err          error // undecodable
}

// BulkWriter writes a private generation's windows without waiting for
// each write (kvmodel.BulkWriter).
type BulkWriter interface {
	// Write sends a window's records, members before each info record,
	// and sets each InfoRev to the revision its info record gets.
	Write(ctx context.Context, ws []*GroupWrite) error
	// Drain returns once every write sent is proven stored.
	Drain(ctx context.Context) error
}

// Bulk folds the commits of feed into the (empty) generation through w,
// window commits per write, until feed closes, and returns the sequence of
// the last commit folded. The states it folded stay in f for the guarded
// tail (Apply) to continue from; a group dropped from memory is read back
// from the model. progress, when set, is called after every window.
func (f *Fold) Bulk(ctx context.Context, feed <-chan []StreamCommit, w BulkWriter, window int, progress func(Stats)) (uint64, error) {
	b := &bulk{r: f, w: w, dirty: map[string]map[string]bool{}, evicted: map[string]bool{}}
	f.cache.onTrim = func(id string) { b.evicted[id] = true }
	defer func() { f.cache.onTrim = nil }()
	st := f.cfg.Counters
	var lastSeq uint64
	inWindow := 0
	for batch := range feed {
		for _, d := range batch {
			if d.Err != nil {
				return 0, fmt.Errorf("commit %d: %w", d.Seq, d.Err)
			}
			if err := b.fold(ctx, d); err != nil {
				return 0, err
			}
			lastSeq = d.Seq
			st.Pending.Store(d.Pending)
			inWindow++
		}
		if inWindow >= window {
			if err := b.flush(ctx); err != nil {
				return 0, err
			}
			st.Applied.Store(lastSeq)
			inWindow = 0
			if progress != nil {
				progress(st.Snapshot())
			}
		}
	}
	if err := b.flush(ctx); err != nil {
		return 0, err
	}
	if err := w.Drain(ctx); err != nil {
		return 0, err
	}
	st.Applied.Store(lastSeq)
	if progress != nil {
		progress(st.Snapshot())
	}
	return lastSeq, nil
}

// bulk is the folding and writing side of the bulk phase.
type bulk struct {
	r       *Fold
	w       BulkWriter
	dirty   map[string]map[string]bool // group -> users touched in this window
	order   []string                   // dirty groups in first-touch order
	evicted map[string]bool            // groups written and dropped from memory
	commits uint64
	evs     uint64
}

// hot returns the group's state: in memory, new, or (after it was evicted)
// read back from the generation once every write is proven stored.
func (b *bulk) hot(ctx context.Context, groupID string) (*hot, error) {
	if h := b.r.cache.get(groupID); h != nil {
		return h, nil
	}
	if !b.evicted[groupID] {
		h := &hot{state: group.New(groupID)}
		b.r.cache.put(groupID, h)
		return h, nil
	}
	if err := b.w.Drain(ctx); err != nil {
		return nil, err
	}
	delete(b.evicted, groupID)
	return b.r.load(ctx, groupID)
}

// fold applies one commit with the projector's guard and fold.
func (b *bulk) fold(ctx context.Context, d StreamCommit) error {
	c := d.Commit
	h, err := b.hot(ctx, c.GroupID)
	if err != nil {
		return err
	}
	first := c.Events[0].Version
	if d.Seq <= h.appliedSeq || first <= h.state.Version {
		b.r.cfg.Counters.Redelivered.Add(1) // a duplicate in the log: no effect
		return nil
	}
	touched := b.dirty[c.GroupID]
	if touched == nil {
		touched = map[string]bool{}
		b.dirty[c.GroupID] = touched
		b.order = append(b.order, c.GroupID)
	}
	// Read in stream order from the first commit, a commit that does not
	// follow its group's version means the log lacks its predecessor: the
	// live projector would be stuck on it too.
	if err := fold(h, c, touched); err != nil {
		return fmt.Errorf("commit %d: %w", d.Seq, err)
	}
	b.r.cache.resize(h)
	h.appliedSeq = d.Seq
	if h.firstSeq == 0 {
		h.firstSeq = d.Seq
	}
	b.commits++
	b.evs += uint64(len(c.Events))
	return nil
}

// flush writes the window: each touched member and index key once, then
// the group's info key (last, as the live projector does), and proves the
// window's last write stored before the next window's writes are counted.
func (b *bulk) flush(ctx context.Context) error {
	if len(b.order) == 0 {
		return nil
	}
	ws := make([]*GroupWrite, 0, len(b.order))
	hs := make([]*hot, 0, len(b.order))
	for _, g := range b.order {
		h := b.r.cache.get(g)
		ws = append(ws, &GroupWrite{State: h.state, Touched: b.dirty[g], AppliedSeq: h.appliedSeq, FirstSeq: h.firstSeq})
		hs = append(hs, h)
	}
	if err := b.w.Write(ctx, ws); err != nil {
		return err
	}
	for i, h := range hs {
		h.infoRev = ws[i].InfoRev // what the guarded tail's CAS expects
	}
	clear(b.dirty)
	b.order = b.order[:0]
	st := b.r.cfg.Counters
	st.Commits.Add(b.commits)
	st.Events.Add(b.evs)
	b.commits, b.evs = 0, 0
	// Every state is written now; the cache may drop the coldest.
	b.r.cache.trim(nil)
	return nil
}
