package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
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
	Now      func() time.Time

	// bulk overrides the bulk phase's tuning (tests).
	bulk *bulkOptions
}

// RebuildProgress reports how far a rebuild is.
type RebuildProgress struct {
	Generation uint64
	// AppliedSeq of TargetSeq: the stream's last sequence when the rebuild
	// started (commits appended since are applied too before switching).
	AppliedSeq, TargetSeq uint64
	Commits, Events       uint64
}

// RebuildResult says what a rebuild did.
type RebuildResult struct {
	From, To        Generation
	Commits, Events uint64
	Took            time.Duration
}

type rebuildLock struct {
	Generation uint64    `json:"generation"`
	Host       string    `json:"host"`
	StartedAt  time.Time `json:"started_at"`
}

// Rebuild folds ROSTER_EVENTS from its first commit into a fresh
// generation of the read model, then switches the active pointer to it
// with a CAS once it has caught up. Until then queries and the running
// projector keep using the current generation; the projector follows the
// pointer and continues the new generation's durable consumer.
func Rebuild(ctx context.Context, cfg RebuildConfig) (RebuildResult, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	started := cfg.Now()
	p, err := NewProjector(Config{JS: cfg.JS, Log: cfg.Log, Store: cfg.Store, BatchSize: cfg.BatchSize, AckWait: cfg.AckWait, MaxCachedMembers: cfg.MaxCachedMembers, Now: cfg.Now})
	if err != nil {
		return RebuildResult{}, err
	}
	js := cfg.JS
	ctl, err := openControl(ctx, js, p.cfg.Store)
	if err != nil {
		return RebuildResult{}, err
	}
	if _, err := ensureActive(ctx, js, ctl, p.cfg.Store, started); err != nil {
		return RebuildResult{}, err
	}
	from, rev, err := readActive(ctx, ctl)
	if err != nil {
		return RebuildResult{}, err
	}
	to := Generation{Number: from.Number + 1, Bucket: BucketName(from.Number + 1)}

	host, _ := os.Hostname()
	lock, err := json.Marshal(rebuildLock{Generation: to.Number, Host: host, StartedAt: started.UTC()})
	if err != nil {
		return RebuildResult{}, err
	}
	if _, err := ctl.Create(ctx, lockKey, lock); errors.Is(err, jetstream.ErrKeyExists) {
		if !cfg.Force {
			return RebuildResult{}, ErrRebuildRunning
		}
		if _, err := ctl.Put(ctx, lockKey, lock); err != nil {
			return RebuildResult{}, fmt.Errorf("take rebuild lock: %w", err)
		}
	} else if err != nil {
		return RebuildResult{}, fmt.Errorf("take rebuild lock: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ctl.Delete(dctx, lockKey)
	}()

	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	// Leftovers of an aborted rebuild into the same generation.
	if err := stream.DeleteConsumer(ctx, DurableName(to.Number)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return RebuildResult{}, fmt.Errorf("remove stale consumer: %w", err)
	}
	if err := js.DeleteKeyValue(ctx, to.Bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return RebuildResult{}, fmt.Errorf("remove stale bucket: %w", err)
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
	cache, bulked, err := p.bulkLoad(ctx, to, target, opt, progress)
	if errors.Is(err, errBulkGap) {
		// A write was not stored where it had to be (a server whose ingest
		// limit is below our writes in flight drops some). Start again from
		// an empty generation, every write acknowledged.
		cfg.Log.Warn().Err(err).Msg("rebuild writes were not all stored; starting over with every write acknowledged")
		if err := js.DeleteKeyValue(ctx, to.Bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return RebuildResult{}, fmt.Errorf("remove incomplete bucket: %w", err)
		}
		p.stats = stats{}
		cache, bulked, err = p.bulkLoad(ctx, to, target, bulkOptions{window: opt.window, ackEvery: 1, maxUnproven: 4096}, progress)
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
	to.SwitchedAt = cfg.Now().UTC()
	b, err := json.Marshal(to)
	if err != nil {
		return RebuildResult{}, err
	}
	if _, err := ctl.Update(ctx, activeKey, b, rev); err != nil {
		return RebuildResult{}, fmt.Errorf("switch to generation %d (did the active generation change meanwhile?): %w", to.Number, err)
	}
	st := p.Stats()
	cfg.Log.Info().Uint64("from", from.Number).Uint64("to", to.Number).Uint64("commits", st.Commits).Msg("projection rebuilt and switched")
	if cfg.DropOld {
		if err := stream.DeleteConsumer(ctx, DurableName(from.Number)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return RebuildResult{}, fmt.Errorf("drop old consumer: %w", err)
		}
		if err := js.DeleteKeyValue(ctx, from.Bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return RebuildResult{}, fmt.Errorf("drop old bucket: %w", err)
		}
	}
	return RebuildResult{From: from, To: to, Commits: st.Commits, Events: st.Events, Took: cfg.Now().Sub(started)}, nil
}
