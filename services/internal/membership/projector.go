package membership

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// The "projector" process role: the durable consumer of ROSTER_EVENTS
// (adapters/jsevents.Consume) feeding the fold-and-store use case
// (app.Fold, app/project.go), which writes through the read model port
// (app.ModelWriter, implemented by adapters/kvmodel).

// Config configures a Projector.
type Config struct {
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Store says how the projection's buckets are created.
	Store StoreConfig
	// BatchSize is how many commits are folded before the model is written
	// and the commits acknowledged together (default 500).
	BatchSize int
	// MaxCachedMembers bounds the hot group states kept in memory, counted
	// in members (default 1,000,000). A group that falls out is reloaded
	// from the read model when it changes again.
	MaxCachedMembers int
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 3s). A crashed projector's commits come back after it, so
	// it bounds how long a restarted projector's applied sequence stays
	// behind; commits a live projector holds longer (a slow batch, a full
	// buffer) are marked in progress every AckWait/3, so a short AckWait
	// does not redeliver them (ADR 0107).
	AckWait time.Duration
	// RetryDelay delays the redelivery of a commit that could not be
	// applied now (a write failed, or its predecessor is not applied yet).
	RetryDelay time.Duration
	// Clock times the retry and wait delays and the writes' deadline, and
	// stamps a new generation (default the real clock).
	Clock clockwork.Clock

	// crashAt, when set (tests), is called at each write stage of a batch;
	// an error returned stops the projector on the spot, as a crash would:
	// nothing more is written, nothing acknowledged or nacked.
	crashAt func(stage string) error
}

// DefaultAckWait is the projector consumer's AckWait: how long a dead
// projector's unacknowledged commits wait before they are redelivered to
// another (or a restarted) one.
const DefaultAckWait = 3 * time.Second

func (c *Config) setDefaults() {
	c.Store.SetDefaults()
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxCachedMembers == 0 {
		c.MaxCachedMembers = 1_000_000
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("batch size %d: must be 1..10000", c.BatchSize))
	}
	if c.MaxCachedMembers < 0 {
		errs = append(errs, errors.New("max cached members must not be negative"))
	}
	if c.AckWait < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("ack wait %s: must be at least 100ms", c.AckWait))
	}
	if c.RetryDelay < 0 {
		errs = append(errs, errors.New("retry delay must not be negative"))
	}
	return errors.Join(errs...)
}

// Projector keeps the active generation of the read model up to date from
// ROSTER_EVENTS. Run one per generation: a second one is safe (the
// applied-sequence guard and the CAS on each group's info key keep the model
// exact) but only wastes work.
type Projector struct {
	cfg   Config
	stats app.Counters
	// projecting: a generation's consumer is running (Ready).
	projecting atomic.Bool
}

// Ready reports whether the projector consumes ROSTER_EVENTS into the
// active generation; false while it starts, restarts after a failure, or
// moves to a new generation.
func (p *Projector) Ready() bool { return p.projecting.Load() }

// Stats is what the projector reports about its progress.
type Stats = app.Stats

// NewProjector validates cfg.
func NewProjector(cfg Config) (*Projector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projector config: %w", err)
	}
	return &Projector{cfg: cfg}, nil
}

// Stats returns a snapshot of the projector's progress; safe to call from
// any goroutine (metrics).
func (p *Projector) Stats() Stats { return p.stats.Snapshot() }

// Run projects into the active generation until ctx ends. When a rebuild
// switches the active generation, Run moves to the new one, resuming its
// durable consumer where the rebuild left it.
func (p *Projector) Run(ctx context.Context) error {
	log := p.cfg.Log
	for {
		err := p.runActive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSwitched) {
			continue
		}
		if p.cfg.crashAt != nil {
			return err
		}
		log.Error().Err(err).Msg("projector stopped; restarting")
		select {
		case <-ctx.Done():
			return nil
		case <-p.cfg.Clock.After(p.cfg.RetryDelay):
		}
	}
}

var errSwitched = errors.New("active generation switched")

func (p *Projector) runActive(ctx context.Context) error {
	ctl, err := kvmodel.OpenControl(ctx, p.cfg.JS, p.cfg.Store)
	if err != nil {
		return err
	}
	gen, err := ctl.EnsureActive(ctx, p.cfg.Clock.Now())
	if err != nil {
		return err
	}
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	updates, err := ctl.WatchActive(gctx, true)
	if err != nil {
		return err
	}
	go func() {
		for u := range updates {
			if u.Err == nil && u.Generation.Number != gen.Number {
				cancel(errSwitched)
				return
			}
		}
	}()
	p.cfg.Log.Info().Uint64("generation", gen.Number).Str("bucket", gen.Bucket).Msg("projecting")
	p.projecting.Store(true)
	err = p.runGeneration(gctx, gen, nil, nil)
	p.projecting.Store(false)
	if c := context.Cause(gctx); errors.Is(c, errSwitched) {
		p.cfg.Log.Info().Uint64("from", gen.Number).Msg("active generation switched")
		return errSwitched
	}
	return err
}

// ensureConsumer creates or updates generation gen's durable consumer;
// a new one starts at stream sequence start (jsevents.EnsureDurable).
func (p *Projector) ensureConsumer(ctx context.Context, gen uint64, start uint64) (jetstream.Consumer, error) {
	return jsevents.EnsureDurable(ctx, p.cfg.JS, jsevents.DurableConfig{
		Name:        DurableName(gen),
		Description: fmt.Sprintf("Roster membership projector, generation %d", gen),
		AckWait:     p.cfg.AckWait, MaxAckPending: 4 * p.cfg.BatchSize, Start: start,
	}, p.cfg.Clock, p.cfg.Log)
}

// newFold returns the fold-and-store use case writing generation gen.
func (p *Projector) newFold(gen Generation, m *kvmodel.Model, stream jetstream.Stream) *app.Fold {
	return app.NewFold(app.FoldConfig{
		Model: m, History: jsevents.ForStream(p.cfg.JS, stream),
		Log:              p.cfg.Log.With().Uint64("generation", gen.Number).Logger(),
		MaxCachedMembers: p.cfg.MaxCachedMembers, RetryDelay: p.cfg.RetryDelay,
		Counters: &p.stats, CrashAt: p.cfg.crashAt,
	})
}

// runGeneration folds commits into gen's bucket until ctx ends, or until
// done (when non-nil) reports true after a batch. fold, when non-nil,
// holds group states already folded into gen (by a rebuild's bulk phase).
func (p *Projector) runGeneration(ctx context.Context, gen Generation, done func(Stats) bool, fold *app.Fold) error {
	log := p.cfg.Log.With().Uint64("generation", gen.Number).Logger()
	m, err := kvmodel.Create(ctx, p.cfg.JS, gen.Number, kvmodel.Options{Store: p.cfg.Store, Clock: p.cfg.Clock})
	if err != nil {
		return err
	}
	cons, err := p.ensureConsumer(ctx, gen.Number, 0)
	if err != nil {
		return err
	}
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	if fold == nil {
		fold = p.newFold(gen, m, stream)
	}
	p.stats.Gen.Store(gen.Number)
	opts := jsevents.ConsumeOptions{Batch: p.cfg.BatchSize, RetryDelay: p.cfg.RetryDelay, AckWait: p.cfg.AckWait, Clock: p.cfg.Clock, Log: log}
	return jsevents.Consume(ctx, cons, opts, func(ctx context.Context, ds []app.Delivery) (bool, error) {
		if err := fold.Apply(ctx, ds); err != nil {
			var crash *app.CrashError
			if errors.As(err, &crash) {
				return false, err
			}
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			p.stats.Failures.Add(1)
			log.Error().Err(err).Int("commits", len(ds)).Msg("batch not applied; it will be redelivered")
			for _, d := range ds {
				d.Nak(p.cfg.RetryDelay)
			}
			return false, nil
		}
		return done != nil && done(p.stats.Snapshot()), nil
	})
}
