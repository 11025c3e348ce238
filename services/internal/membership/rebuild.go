package membership

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// ErrRebuildRunning means another rebuild holds the lock.
var ErrRebuildRunning = events.Errorf(events.CodeFailedPrecondition, "another rebuild is running (use --force if it died)")

// RebuildConfig configures Rebuild.
type RebuildConfig struct {
	JS    jetstream.JetStream
	Log   zerolog.Logger
	Store StoreConfig
	// BatchSize and AckWait as for the projector.
	BatchSize int
	AckWait   time.Duration
	// Force takes the rebuild lock even when it is held (a rebuild died).
	Force bool
	// DropOld deletes the previous generation's bucket and consumer once
	// queries have switched. Off by default: the old copy is the rollback.
	DropOld bool
	// MaxCachedMembers bounds the group states held in memory, as for the
	// projector (default 1,000,000 members). Groups beyond it are written,
	// dropped, and read back from the new generation if they change again.
	MaxCachedMembers int
	// Progress, when set, is called after every window or batch.
	Progress func(RebuildProgress)
	// Clock stamps the switch and times the rebuild's waits (default the
	// real clock).
	Clock clockwork.Clock

	// bulk overrides the bulk phase's tuning (tests).
	bulk *bulkOptions
}

// RebuildProgress reports how far a rebuild is.
type RebuildProgress = app.RebuildProgress

// RebuildResult says what a rebuild did.
type RebuildResult = app.RebuildResult

// WriteCount counts stored KV messages and their key and value bytes.
type WriteCount = app.WriteCount

// RebuildCommand asks for a rebuild (the CLI's use case).
type RebuildCommand = app.RebuildCommand

// NewRebuildProjection wires the rebuild use case to NATS: what
// `roster projection rebuild` calls.
func NewRebuildProjection(js jetstream.JetStream, log zerolog.Logger, store StoreConfig) *app.RebuildProjection {
	return app.NewRebuildProjection(natsRebuilder{js: js, log: log, store: store})
}

// natsRebuilder is app.Rebuilder over NATS: Rebuild.
type natsRebuilder struct {
	js    jetstream.JetStream
	log   zerolog.Logger
	store StoreConfig
}

func (r natsRebuilder) Rebuild(ctx context.Context, cmd app.RebuildCommand) (app.RebuildResult, error) {
	return Rebuild(ctx, RebuildConfig{
		JS: r.js, Log: r.log, Store: r.store, BatchSize: cmd.BatchSize,
		Force: cmd.Force, DropOld: cmd.DropOld, Progress: cmd.Progress,
	})
}

// Rebuild folds ROSTER_EVENTS from its first commit into a fresh
// generation of the read model, then switches the active pointer to it
// with a CAS once it has caught up. Until then queries and the running
// projector keep using the current generation; the projector follows the
// pointer and continues the new generation's durable consumer.
func Rebuild(ctx context.Context, cfg RebuildConfig) (RebuildResult, error) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	started := cfg.Clock.Now()
	p, err := NewProjector(Config{JS: cfg.JS, Log: cfg.Log, Store: cfg.Store, BatchSize: cfg.BatchSize, AckWait: cfg.AckWait, MaxCachedMembers: cfg.MaxCachedMembers, Clock: cfg.Clock})
	if err != nil {
		return RebuildResult{}, err
	}
	js := cfg.JS
	ctl, err := kvmodel.OpenControl(ctx, js, p.cfg.Store)
	if err != nil {
		return RebuildResult{}, err
	}
	if _, err := ctl.EnsureActive(ctx, started); err != nil {
		return RebuildResult{}, err
	}
	from, rev, err := ctl.Active(ctx)
	if err != nil {
		return RebuildResult{}, err
	}
	to := Generation{Number: from.Number + 1, Bucket: BucketName(from.Number + 1)}

	host, _ := os.Hostname()
	release, err := ctl.Lock(ctx, kvmodel.RebuildLock{Generation: to.Number, Host: host, StartedAt: started.UTC()}, cfg.Force)
	if errors.Is(err, kvmodel.ErrLockHeld) {
		return RebuildResult{}, ErrRebuildRunning
	}
	if err != nil {
		return RebuildResult{}, err
	}
	defer release()

	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	// Leftovers of an aborted rebuild into the same generation.
	if err := stream.DeleteConsumer(ctx, DurableName(to.Number)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return RebuildResult{}, fmt.Errorf("remove stale consumer: %w", err)
	}
	if err := kvmodel.DropGeneration(ctx, js, to); err != nil {
		return RebuildResult{}, fmt.Errorf("remove stale generation: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	target := info.State.LastSeq
	progress := func(s Stats) {
		if cfg.Progress != nil {
			cfg.Progress(RebuildProgress{Generation: to.Number, AppliedSeq: s.AppliedSeq, TargetSeq: target, Commits: s.Commits, Events: s.Events})
		}
	}
	progress(Stats{})
	// Bulk phase: everything stored when the rebuild started, folded in
	// windows into the still private generation (bulk.go).
	opt := defaultBulk
	if cfg.bulk != nil {
		opt = *cfg.bulk
	}
	cache, bulked, written, err := p.bulkLoad(ctx, to, target, opt, progress)
	if errors.Is(err, kvmodel.ErrBulkGap) {
		// A write was not stored where it had to be (a server whose ingest
		// limit is below our writes in flight drops some). Start again from
		// an empty generation, every write acknowledged.
		cfg.Log.Warn().Err(err).Msg("rebuild writes were not all stored; starting over with every write acknowledged")
		if err := kvmodel.DropGeneration(ctx, js, to); err != nil {
			return RebuildResult{}, fmt.Errorf("remove incomplete generation: %w", err)
		}
		p.stats = app.Counters{}
		cache, bulked, written, err = p.bulkLoad(ctx, to, target, bulkOptions{window: opt.window, ackEvery: 1, maxUnproven: 4096}, progress)
	}
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild generation %d: %w", to.Number, err)
	}
	// Tail: commits appended since, through the new generation's durable
	// consumer (it starts after the bulk phase) with the projector's guarded
	// path, continuing from the folded states.
	if _, err := p.ensureConsumer(ctx, to.Number, bulked+1); err != nil {
		return RebuildResult{}, err
	}
	for {
		// Caught up only when nothing is pending or unacknowledged: a commit
		// that was retried must not be left for after the switch.
		ci, err := stream.Consumer(ctx, DurableName(to.Number))
		if err != nil {
			return RebuildResult{}, err
		}
		cinfo, err := ci.Info(ctx)
		if err != nil {
			return RebuildResult{}, err
		}
		if cinfo.NumPending == 0 && cinfo.NumAckPending == 0 {
			break
		}
		target = max(target, cinfo.Delivered.Stream+cinfo.NumPending)
		err = p.runGeneration(ctx, to, func(s Stats) bool {
			progress(s)
			return s.AppliedSeq >= target && s.Pending == 0
		}, cache)
		if err != nil {
			return RebuildResult{}, fmt.Errorf("rebuild generation %d: %w", to.Number, err)
		}
	}
	to.SwitchedAt = cfg.Clock.Now().UTC()
	if err := ctl.Switch(ctx, to, rev); err != nil {
		return RebuildResult{}, err
	}
	st := p.Stats()
	cfg.Log.Info().Uint64("from", from.Number).Uint64("to", to.Number).Uint64("commits", st.Commits).Msg("projection rebuilt and switched")
	if cfg.DropOld {
		if err := stream.DeleteConsumer(ctx, DurableName(from.Number)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return RebuildResult{}, fmt.Errorf("drop old consumer: %w", err)
		}
		if err := kvmodel.DropGeneration(ctx, js, from); err != nil {
			return RebuildResult{}, fmt.Errorf("drop old generation: %w", err)
		}
	}
	return RebuildResult{From: from, To: to, Commits: st.Commits, Events: st.Events, Took: cfg.Clock.Since(started), BulkWrites: written}, nil
}

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
// the last commit folded: the tail starts after it, and what it wrote.
func (p *Projector) bulkLoad(ctx context.Context, gen Generation, last uint64, opt bulkOptions, progress func(Stats)) (*app.Fold, uint64, app.WriteCount, error) {
	m, err := kvmodel.Create(ctx, p.cfg.JS, gen.Number, kvmodel.Options{Store: p.cfg.Store, Clock: p.cfg.Clock})
	if err != nil {
		return nil, 0, app.WriteCount{}, err
	}
	w, err := m.BulkWriter(ctx, kvmodel.BulkOptions{AckEvery: opt.ackEvery, MaxUnproven: opt.maxUnproven})
	if err != nil {
		return nil, 0, app.WriteCount{}, err
	}
	defer w.Close()
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, 0, app.WriteCount{}, fmt.Errorf("open %s: %w", events.StreamName, err)
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
		return nil, 0, app.WriteCount{}, err
	}
	if err := <-rerr; err != nil {
		return nil, 0, app.WriteCount{}, err
	}
	return f, lastSeq, w.Written(), nil
}
