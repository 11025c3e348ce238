package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Stream is ROSTER_AUDIT's configuration when the publisher creates it.
	Stream StreamConfig
	// Buffer is how many records may wait in memory for JetStream (default
	// 16384). When it is full, Record waits up to OverflowWait for room
	// (backpressure: JetStream is then the bottleneck of the command too),
	// and only then drops the record, counted in roster_audit_dropped_total.
	Buffer int
	// OverflowWait bounds how long Record blocks on a full buffer (default
	// 2s; negative: never block).
	OverflowWait time.Duration
	// MaxInFlight bounds unacknowledged asynchronous publishes (default 1024).
	MaxInFlight int
	// AckTimeout is how long one publish may wait for its ack (default 5s)
	// before it is retried.
	AckTimeout time.Duration
	// Backoff is the retry schedule of a failed publish (default 100ms..5s).
	Backoff Backoff
	// DrainTimeout bounds how long Run keeps publishing after ctx ends
	// (default 5s).
	DrainTimeout time.Duration
}

func (c *PublisherConfig) setDefaults() {
	c.Stream.setDefaults()
	if c.Buffer == 0 {
		c.Buffer = 16384
	}
	if c.OverflowWait == 0 {
		c.OverflowWait = 2 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 5 * time.Second
	}
}

// Validate reports every problem with c.
func (c PublisherConfig) Validate() error {
	var errs []error
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	if c.Buffer < 1 {
		errs = append(errs, fmt.Errorf("buffer %d: must be positive", c.Buffer))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("max in flight %d: must be positive", c.MaxInFlight))
	}
	if c.AckTimeout <= 0 || c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("ack and drain timeouts must be positive"))
	}
	if c.Backoff.Min <= 0 || c.Backoff.Max < c.Backoff.Min {
		errs = append(errs, fmt.Errorf("backoff %s..%s: want 0 < min <= max", c.Backoff.Min, c.Backoff.Max))
	}
	errs = append(errs, c.Stream.Validate())
	return errors.Join(errs...)
}

// Publisher is the Recorder services use: Record encodes the record and
// hands it to a buffer, and Run publishes the buffer asynchronously to
// roster.audit.<kind> with the record id as Nats-Msg-Id, retrying failures.
// Record never waits on the network (see BenchmarkRecord).
//
// A record is lost only if the process dies while it is buffered, or the
// buffer overflows (counted). Events do not depend on this path: the sink
// reads them from ROSTER_EVENTS.
type Publisher struct {
	cfg     PublisherConfig
	log     zerolog.Logger
	queue   chan outgoing
	pending atomic.Int64 // queued or in flight, not yet acknowledged
	closed  atomic.Bool
}

type outgoing struct {
	subject string
	id      string
	data    []byte
}

// NewPublisher checks cfg. Records are buffered from now on and published
// once Run runs.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit publisher: %w", err)
	}
	return &Publisher{
		cfg:   cfg,
		log:   cfg.Log.With().Str("component", "audit-publisher").Logger(),
		queue: make(chan outgoing, cfg.Buffer),
	}, nil
}

// Record implements Recorder. It is safe for concurrent use and does not
// wait on the network; it blocks (up to OverflowWait) only when the buffer
// is full.
func (p *Publisher) Record(r Record) {
	if r == nil {
		return
	}
	data, err := json.Marshal(r)
	if err != nil {
		// Only a record type with an unencodable field gets here: a bug.
		metricDropped.Inc()
		p.log.Error().Err(err).Str("kind", string(r.AuditKind())).Msg("audit record not encodable; dropped")
		return
	}
	if p.closed.Load() {
		metricDropped.Inc()
		return
	}
	p.pending.Add(1)
	o := outgoing{subject: Subject(r.AuditKind()), id: r.AuditID(), data: data}
	select {
	case p.queue <- o:
		return
	default:
	}
	if p.cfg.OverflowWait > 0 {
		t := time.NewTimer(p.cfg.OverflowWait)
		defer t.Stop()
		select {
		case p.queue <- o:
			return
		case <-t.C:
		}
	}
	p.pending.Add(-1)
	metricDropped.Inc()
	p.log.Warn().Str("kind", string(r.AuditKind())).Str("id", r.AuditID()).Msg("audit buffer full; record dropped")
}

// Pending is the number of records recorded but not yet acknowledged by
// JetStream.
func (p *Publisher) Pending() int64 { return p.pending.Load() }

// Flush waits until every record recorded before the call is acknowledged,
// or ctx ends.
func (p *Publisher) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit flush: %d records pending: %w", p.pending.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Run publishes buffered records until ctx ends, then keeps publishing
// what is left for up to DrainTimeout. It returns nil.
func (p *Publisher) Run(ctx context.Context) error {
	if _, err := Provision(ctx, p.cfg.JS, p.cfg.Stream); err != nil && ctx.Err() == nil {
		// Publishing retries until the stream exists (the sink creates it too).
		p.log.Warn().Err(err).Msg("provision audit stream")
	}
	// Publishes live until the drain deadline, not until ctx ends, so that
	// records recorded just before shutdown still go out.
	life, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	sem := make(chan struct{}, p.cfg.MaxInFlight)
	var wg sync.WaitGroup
	spawn := func(o outgoing) {
		select {
		case sem <- struct{}{}:
		case <-life.Done():
			p.pending.Add(-1)
			metricDropped.Inc()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.publish(life, o)
		}()
	}
run:
	for {
		select {
		case o := <-p.queue:
			spawn(o)
		case <-ctx.Done():
			break run
		}
	}
	p.closed.Store(true)
	stop := time.AfterFunc(p.cfg.DrainTimeout, kill)
	defer stop.Stop()
	for {
		select {
		case o := <-p.queue:
			spawn(o)
			continue
		default:
		}
		wg.Wait()
		if len(p.queue) == 0 {
			break
		}
	}
	p.dropQueued() // a Record racing with shutdown
	return nil
}

func (p *Publisher) dropQueued() {
	for {
		select {
		case <-p.queue:
			p.pending.Add(-1)
			metricDropped.Inc()
		default:
			return
		}
	}
}

// publish sends one record and waits for its ack, retrying until it is
// stored or ctx ends. The Nats-Msg-Id makes a retry after a lost ack
// harmless.
func (p *Publisher) publish(ctx context.Context, o outgoing) {
	defer p.pending.Add(-1)
	for attempt := 0; ; attempt++ {
		fut, err := p.cfg.JS.PublishAsync(o.subject, o.data, jetstream.WithMsgID(o.id))
		if err == nil {
			select {
			case <-fut.Ok():
				metricPublished.Inc()
				return
			case err = <-fut.Err():
			case <-time.After(p.cfg.AckTimeout):
				err = errors.New("ack timeout")
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		metricPublishErrors.Inc()
		if ctx.Err() != nil {
			metricDropped.Inc()
			p.log.Warn().Str("subject", o.subject).Str("id", o.id).Msg("audit record not published before shutdown; dropped")
			return
		}
		d := p.cfg.Backoff.Delay(attempt)
		p.log.Warn().Err(err).Str("subject", o.subject).Dur("retry_in", d).Msg("audit publish failed")
		if sleepCtx(ctx, d) != nil {
			metricDropped.Inc()
			return
		}
	}
}

// RecordDurable publishes r and returns only once JetStream has stored it
// (or ctx ends, or the publish fails). Callers that must not acknowledge
// their own work before its audit record is safe use it (the dispatcher
// before acking a delivery job, endpoint changes before replying); the
// record id stays the Nats-Msg-Id, so a retry after an error never
// duplicates a row.
func (p *Publisher) RecordDurable(ctx context.Context, r Record) error {
	if r == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit record %s: %w", r.AuditID(), err)
	}
	if _, err := p.cfg.JS.Publish(ctx, Subject(r.AuditKind()), data, jetstream.WithMsgID(r.AuditID())); err != nil {
		metricPublishErrors.Inc()
		return fmt.Errorf("audit record %s: %w", r.AuditID(), err)
	}
	metricPublished.Inc()
	return nil
}
