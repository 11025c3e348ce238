package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// consumer creates or updates the fan-out's durable pull consumer. A
// consumer left by an earlier version (Watermill's push consumer) is
// replaced by one that continues after its acknowledgement floor.
func (f *Fanout) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s, err := f.js.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       FanoutDurable,
		Description:   "Roster webhook fan-out: commits -> delivery jobs",
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       f.cfg.AckWait,
		MaxDeliver:    -1,
		// Room for the batch being fanned out and the next one prefetched.
		MaxAckPending:  2 * f.cfg.Batch,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{fanoutGroup},
		// A new dispatcher is pinned only after every commit the previous
		// one held has passed its AckWait and waits in the redelivery
		// queue, which the server serves before newer commits: per-group
		// order survives a failover (ADR 0010).
		PinnedTTL: f.pinnedTTL(),
	}
	c, err := s.Consumer(ctx, FanoutDurable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = s.CreateConsumer(ctx, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			c, err = s.Consumer(ctx, FanoutDurable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fan-out consumer: %w", err)
	}
	info := c.CachedInfo()
	if info.Config.PriorityPolicy == jetstream.PriorityPolicyPinned && info.Config.DeliverSubject == "" {
		cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
		if info.Config.AckWait == cfg.AckWait && info.Config.MaxAckPending == cfg.MaxAckPending && info.Config.PinnedTTL == cfg.PinnedTTL {
			return c, nil
		}
		if c, err = s.UpdateConsumer(ctx, cfg); err != nil {
			return nil, fmt.Errorf("fan-out consumer: %w", err)
		}
		return c, nil
	}
	// Upgrade from the push consumer: continue after what it acknowledged
	// (commits past the floor are fanned out again; their jobs are
	// deduplicated or find their attempt state settled).
	if err := s.DeleteConsumer(ctx, FanoutDurable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("fan-out consumer upgrade: %w", err)
	}
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, info.AckFloor.Stream+1
	f.cfg.Log.Info().Uint64("start_seq", cfg.OptStartSeq).Msg("webhook fan-out consumer upgraded to a pinned pull consumer")
	if c, err = s.CreateConsumer(ctx, cfg); err != nil {
		return nil, fmt.Errorf("fan-out consumer upgrade: %w", err)
	}
	return c, nil
}

func (f *Fanout) pullExpiry() time.Duration {
	return max(time.Second, min(5*time.Second, f.cfg.AckWait/2))
}

// pinnedTTL exceeds a pull request's life plus AckWait: every commit a
// silent dispatcher still held is redeliverable before anyone else is
// pinned.
func (f *Fanout) pinnedTTL() time.Duration {
	return f.cfg.AckWait + f.pullExpiry() + 2*time.Second
}

// unpin hands the fan-out over at once when this dispatcher stops cleanly
// and is still the pinned one: it has given back every commit it held, so
// the next dispatcher may start without waiting out PinnedTTL (ADR 0026).
// A dispatcher that dies is unpinned by the server after PinnedTTL.
func (f *Fanout) unpin(ctx context.Context, pinID string) {
	if pinID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s, err := f.js.Stream(ctx, events.StreamName)
	if err != nil {
		return
	}
	c, err := s.Consumer(ctx, FanoutDurable)
	if err != nil {
		return
	}
	for _, g := range c.CachedInfo().PriorityGroups {
		if g.Group == fanoutGroup && g.PinnedClientID == pinID {
			if err := s.UnpinConsumer(ctx, FanoutDurable, fanoutGroup); err != nil {
				f.cfg.Log.Debug().Err(err).Msg("unpinning the webhook fan-out")
			}
			return
		}
	}
}
