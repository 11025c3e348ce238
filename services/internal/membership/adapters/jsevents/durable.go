package jsevents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// DurableConfig describes the projector's durable consumer of one
// generation.
type DurableConfig struct {
	Name, Description string
	AckWait           time.Duration
	MaxAckPending     int
	// Start is the stream sequence a new consumer starts at (0 or 1: the
	// first commit). An existing consumer keeps its start: the server
	// refuses to change it, and a rebuild creates its consumer after the
	// commits it folded in bulk.
	Start uint64
}

// EnsureDurable creates or updates the durable consumer on ROSTER_EVENTS.
// The command service provisions the stream; until it exists this waits,
// looking again every second on clock.
func EnsureDurable(ctx context.Context, js jetstream.JetStream, cfg DurableConfig, clock clockwork.Clock, log zerolog.Logger) (jetstream.Consumer, error) {
	var stream jetstream.Stream
	for {
		s, err := js.Stream(ctx, events.StreamName)
		if err == nil {
			stream = s
			break
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("open %s: %w", events.StreamName, err)
		}
		log.Warn().Msg(events.StreamName + " does not exist yet; waiting")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-clock.After(time.Second):
		}
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Name,
		Description:   cfg.Description,
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: cfg.MaxAckPending,
	}
	if cfg.Start > 1 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cfg.Start
	}
	if c, err := stream.Consumer(ctx, cc.Durable); err == nil {
		have := c.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Name, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Name, err)
	}
	return cons, nil
}

// ConsumeOptions tune Consume.
type ConsumeOptions struct {
	// Batch is the most commits handed over at once; twice as many are
	// buffered from the server.
	Batch int
	// RetryDelay delays the redelivery of a message without metadata.
	RetryDelay time.Duration
	// AckWait is the consumer's; a commit held (buffered or in a batch
	// being folded) for a third of it is marked in progress, so that a
	// short AckWait redelivers a dead projector's commits soon without
	// redelivering a live one's slow batch (0: no marks).
	AckWait time.Duration
	// Clock times the in-progress marks (default the real clock).
	Clock clockwork.Clock
	Log   zerolog.Logger
}

// held are the commits Consume received and has not settled yet (acked or
// nacked by the handler), with when each was received or last marked in
// progress.
type held struct {
	mu   sync.Mutex
	msgs map[jetstream.Msg]time.Time
}

func (h *held) add(m jetstream.Msg, now time.Time) {
	h.mu.Lock()
	h.msgs[m] = now
	h.mu.Unlock()
}

func (h *held) done(ms []jetstream.Msg) {
	h.mu.Lock()
	for _, m := range ms {
		delete(h.msgs, m)
	}
	h.mu.Unlock()
}

// heartbeat marks every commit held for at least age in progress, which
// restarts its AckWait on the server.
func (h *held) heartbeat(now time.Time, age time.Duration) {
	h.mu.Lock()
	var due []jetstream.Msg
	for m, at := range h.msgs {
		if now.Sub(at) >= age {
			due = append(due, m)
			h.msgs[m] = now
		}
	}
	h.mu.Unlock()
	for _, m := range due {
		// Already settled meanwhile (ErrMsgAlreadyAckd) or a lost mark:
		// the worst case is a redelivery, which the guard makes a no-op.
		_ = m.InProgress()
	}
}

// Consume hands the durable consumer's commits to handle in batches of
// what has arrived (at most o.Batch) until ctx ends, the consumer is
// deleted (an operator, or a rebuild's --drop-old: the error says so, and
// the caller starts over), handle returns an error, or handle reports done.
// Commits delivered but not handed over are given back (nak) when it
// returns, so whoever consumes next gets them now rather than after
// AckWait, except after an *app.CrashError, which must look like a crash.
func Consume(ctx context.Context, cons jetstream.Consumer, o ConsumeOptions, handle func(context.Context, []app.Delivery) (done bool, err error)) error {
	name := cons.CachedInfo().Name
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	in := make(chan jetstream.Msg, 2*o.Batch)
	stop := make(chan struct{})
	defer close(stop)
	hold := &held{msgs: map[jetstream.Msg]time.Time{}}
	if o.AckWait > 0 {
		go func() {
			t := o.Clock.NewTicker(o.AckWait / 3)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case now := <-t.Chan():
					hold.heartbeat(now, o.AckWait/3)
				}
			}
		}()
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		hold.add(m, o.Clock.Now())
		select {
		case in <- m:
		case <-stop:
		}
	}, jetstream.PullMaxMessages(2*o.Batch), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		o.Log.Warn().Err(err).Msg("consumer")
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			cancel(fmt.Errorf("consumer %s: %w", name, err))
		}
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, err)
	}
	crashed := false
	defer func() {
		cc.Stop()
		if crashed {
			return
		}
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
		for len(batch) < o.Batch {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		ds := make([]app.Delivery, 0, len(batch))
		for _, m := range batch {
			d, err := NewDelivery(m)
			if err != nil {
				_ = m.NakWithDelay(o.RetryDelay)
				continue
			}
			ds = append(ds, d)
		}
		done, err := handle(ctx, ds)
		hold.done(batch)
		if err != nil {
			var crash *app.CrashError
			crashed = errors.As(err, &crash)
			return err
		}
		if done {
			return nil
		}
	}
}
