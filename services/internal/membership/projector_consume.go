package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// ensureConsumer creates or updates generation gen's durable consumer. A new
// consumer starts at stream sequence start (0 or 1: the first commit); an
// existing one keeps its start (the server refuses to change it; a rebuild
// creates its consumer after the commits it folded in bulk).
func (p *Projector) ensureConsumer(ctx context.Context, gen uint64, start uint64) (jetstream.Consumer, error) {
	var stream jetstream.Stream
	for {
		s, err := p.cfg.JS.Stream(ctx, events.StreamName)
		if err == nil {
			stream = s
			break
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("open %s: %w", events.StreamName, err)
		}
		// The command service provisions the stream; wait for it.
		p.cfg.Log.Warn().Msg(events.StreamName + " does not exist yet; waiting")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.cfg.Clock.After(time.Second):
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       DurableName(gen),
		Description:   fmt.Sprintf("Roster membership projector, generation %d", gen),
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       p.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4 * p.cfg.BatchSize,
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	if c, err := stream.Consumer(ctx, cfg.Durable); err == nil {
		have := c.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("consumer %s: %w", DurableName(gen), err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", DurableName(gen), err)
	}
	return cons, nil
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
	// A deleted consumer (an operator, or a rebuild's --drop-old) ends this
	// run; the caller starts over, recreating it if it is still wanted.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	in := make(chan jetstream.Msg, 2*p.cfg.BatchSize)
	stop := make(chan struct{})
	defer close(stop)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case in <- m:
		case <-stop:
		}
	}, jetstream.PullMaxMessages(2*p.cfg.BatchSize), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn().Err(err).Msg("consumer")
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			cancel(fmt.Errorf("consumer %s: %w", DurableName(gen.Number), err))
		}
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", DurableName(gen.Number), err)
	}
	crashed := false
	defer func() {
		cc.Stop()
		if crashed {
			return
		}
		// Hand back what was delivered but not folded, so whoever consumes
		// next gets it now rather than after AckWait.
		for {
			select {
			case m := <-in:
				_ = m.Nak()
			default:
				return
			}
		}
	}()
	for {
		var batch []jetstream.Msg
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case m := <-in:
			batch = append(batch, m)
		}
	drain:
		for len(batch) < p.cfg.BatchSize {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		ds := make([]app.Delivery, 0, len(batch))
		for _, m := range batch {
			d, err := jsevents.NewDelivery(m)
			if err != nil {
				_ = m.NakWithDelay(p.cfg.RetryDelay)
				continue
			}
			ds = append(ds, d)
		}
		if err := fold.Apply(ctx, ds); err != nil {
			var crash *app.CrashError
			if errors.As(err, &crash) {
				crashed = true
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.stats.Failures.Add(1)
			log.Error().Err(err).Int("commits", len(batch)).Msg("batch not applied; it will be redelivered")
			for _, m := range batch {
				_ = m.NakWithDelay(p.cfg.RetryDelay)
			}
			continue
		}
		if done != nil && done(p.stats.Snapshot()) {
			return nil
		}
	}
}
