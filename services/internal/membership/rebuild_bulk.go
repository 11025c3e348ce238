package membership

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/events"
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
// must be empty and private to the caller. It returns the fold holding the
// group states (for the guarded tail to continue from) and the sequence of
// the last commit folded: the tail starts after it.
func (p *Projector) bulkLoad(ctx context.Context, gen Generation, last uint64, opt bulkOptions, progress func(Stats)) (*app.Fold, uint64, error) {
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
	p.stats.Gen.Store(gen.Number)
	f := p.newFold(gen, m, stream)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []app.StreamCommit, 8)
	rerr := make(chan error, 1)
	go func() { rerr <- jsevents.ReadCommits(rctx, p.cfg.JS, stream, last, ch) }()
	lastSeq, err := f.Bulk(ctx, ch, w, opt.window, progress)
	if err != nil {
		cancel()
		for range ch { // let the reader end
		}
		<-rerr
		return nil, 0, err
	}
	if err := <-rerr; err != nil {
		return nil, 0, err
	}
	return f, lastSeq, nil
}
