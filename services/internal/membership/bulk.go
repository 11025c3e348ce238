package membership

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// The bulk phase of a rebuild (ADR 0035). A rebuild replays the stream from
// its first commit into a generation that is empty, has one writer (the
// rebuild lock) and is read by nobody until the switch. That allows what
// the live projector cannot afford:
//   - reading the stream with an ordered consumer (no acks, no redelivery)
//     while the previous window is folded and written (pipelined);
//   - folding a window of thousands of commits in memory and writing each
//     touched key once, with its final value (last write wins);
//   - publishing without waiting for each ack (kvmodel.BulkWriter), with
//     periodic acks that prove every write before them stored in order; a
//     gap fails the rebuild instead of switching to an incomplete model.
// A crash in this phase leaves a generation nobody reads; the next rebuild
// deletes it and starts over. The tail (commits appended since the rebuild
// started) is then folded by the projector's guarded path before the
// switch.

// bulkOptions tunes the bulk phase.
type bulkOptions struct {
	// window is how many commits are folded before their keys are written.
	window int
	// ackEvery asks for a publish ack every ackEvery writes (1: all).
	ackEvery int
	// maxUnproven bounds the writes in flight that no ack has proven
	// stored yet (kvmodel.BulkOptions).
	maxUnproven int
}

var defaultBulk = bulkOptions{window: 8192, ackEvery: 256, maxUnproven: 16384}

// bulkLoad folds the stream's commits up to sequence last into gen, which
// must be empty and private to the caller. It returns the folded group
// states (for the guarded tail to continue from) and the sequence of the
// last commit folded: the tail starts after it.
func (p *Projector) bulkLoad(ctx context.Context, gen Generation, last uint64, opt bulkOptions, progress func(Stats)) (*stateCache, uint64, error) {
	m, err := kvmodel.Create(ctx, p.cfg.JS, gen.Number, kvmodel.Options{Store: p.cfg.Store, Clock: p.cfg.Clock})
	if err != nil {
		return nil, 0, err
	}
	w, err := m.BulkWriter(ctx, kvmodel.BulkOptions{AckEvery: opt.ackEvery, MaxUnproven: opt.maxUnproven})
	if err != nil {
		return nil, 0, err
	}
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	p.stats.gen.Store(gen.Number)
	r := &genRunner{
		p: p, log: p.cfg.Log.With().Uint64("generation", gen.Number).Logger(),
		m:     m,
		cache: newStateCache(p.cfg.MaxCachedMembers),
		hist:  jsevents.ForStream(stream),
	}
	b := &bulk{r: r, w: w, dirty: map[string]map[string]bool{}, evicted: map[string]bool{}}
	r.cache.onTrim = func(id string) { b.evicted[id] = true }

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []jsevents.Decoded, 8)
	rerr := make(chan error, 1)
	go func() { rerr <- jsevents.ReadCommits(rctx, stream, last, ch) }()

	var lastSeq uint64
	fail := func(err error) (*stateCache, uint64, error) {
		cancel()
		for range ch { // let the reader end
		}
		<-rerr
		return nil, 0, err
	}
	inWindow := 0
	for batch := range ch {
		for _, d := range batch {
			if d.Err != nil {
				return fail(fmt.Errorf("commit %d: %w", d.Seq, d.Err))
			}
			if err := b.fold(ctx, d); err != nil {
				return fail(err)
			}
			lastSeq = d.Seq
			p.stats.pending.Store(d.Pending)
			inWindow++
		}
		if inWindow >= opt.window {
			if err := b.flush(ctx); err != nil {
				return fail(err)
			}
			p.stats.applied.Store(lastSeq)
			inWindow = 0
			if progress != nil {
				progress(p.stats.snapshot())
			}
		}
	}
	if err := <-rerr; err != nil {
		return nil, 0, err
	}
	if err := b.flush(ctx); err != nil {
		return nil, 0, err
	}
	if err := w.Drain(ctx); err != nil {
		return nil, 0, err
	}
	p.stats.applied.Store(lastSeq)
	if progress != nil {
		progress(p.stats.snapshot())
	}
	r.cache.onTrim = nil
	return r.cache, lastSeq, nil
}

// bulk is the folding and writing side of the bulk phase.
type bulk struct {
	r       *genRunner
	w       *kvmodel.BulkWriter
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
func (b *bulk) fold(ctx context.Context, d jsevents.Decoded) error {
	c := d.Commit
	h, err := b.hot(ctx, c.GroupID)
	if err != nil {
		return err
	}
	first := c.Events[0].Version
	if d.Seq <= h.appliedSeq || first <= h.state.Version {
		b.r.p.stats.redelivered.Add(1) // a duplicate in the log: no effect
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
	ws := make([]*app.GroupWrite, 0, len(b.order))
	hs := make([]*hot, 0, len(b.order))
	for _, g := range b.order {
		h := b.r.cache.get(g)
		ws = append(ws, &app.GroupWrite{State: h.state, Touched: b.dirty[g], AppliedSeq: h.appliedSeq, FirstSeq: h.firstSeq})
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
	st := &b.r.p.stats
	st.commits.Add(b.commits)
	st.evs.Add(b.evs)
	b.commits, b.evs = 0, 0
	// Every state is written now; the cache may drop the coldest.
	b.r.cache.trim(nil)
	return nil
}
