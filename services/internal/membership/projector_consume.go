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

// runGeneration folds commits into gen's bucket until ctx ends, or until
// done (when non-nil) reports true after a batch. cache, when non-nil,
// holds group states already folded into gen (by a rebuild's bulk phase).
func (p *Projector) runGeneration(ctx context.Context, gen Generation, done func(Stats) bool, cache *stateCache) error {
	m, err := kvmodel.Create(ctx, p.cfg.JS, gen.Number, kvmodel.Options{Store: p.cfg.Store, Clock: p.cfg.Clock})
	if err != nil {
		return err
	}
	cons, err := p.ensureConsumer(ctx, gen.Number, 0)
	if err != nil {
		return err
	}
	if cache == nil {
		cache = newStateCache(p.cfg.MaxCachedMembers)
	}
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	p.stats.gen.Store(gen.Number)
	r := &genRunner{
		p: p, log: p.cfg.Log.With().Uint64("generation", gen.Number).Logger(),
		m:     m,
		cache: cache,
		hist:  jsevents.ForStream(stream),
	}
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
		r.log.Warn().Err(err).Msg("consumer")
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
		if err := r.apply(ctx, batch); err != nil {
			var crash *crashError
			if errors.As(err, &crash) {
				crashed = true
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.stats.failures.Add(1)
			r.log.Error().Err(err).Int("commits", len(batch)).Msg("batch not applied; it will be redelivered")
			for _, m := range batch {
				_ = m.NakWithDelay(p.cfg.RetryDelay)
			}
			continue
		}
		if done != nil && done(p.stats.snapshot()) {
			return nil
		}
	}
}

// poisonDelay spaces out retries of a commit this code cannot decode: it
// will not decode until the projector is fixed, and every retry logs.
const poisonDelay = 30 * time.Second
