// Package publisher is the Recorder services write the trail through: it
// publishes records to ROSTER_AUDIT (asynchronously with Record, before
// returning with RecordDurable). Package audit re-exports it as
// audit.Publisher / audit.NewPublisher.
package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/wait"
)

// ErrClosed is returned by Record once the publisher has stopped taking
// records (its Run is shutting down).
var ErrClosed = errors.New("audit publisher closed")

// Config configures a Publisher.
type Config struct {
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Stream is ROSTER_AUDIT's configuration when the publisher creates it.
	Stream auditstream.StreamConfig
	// Buffer is how many records may wait in memory for JetStream (default
	// 16384). When it is full, Record waits for room for as long as its
	// caller's context allows (backpressure: JetStream is then the
	// bottleneck of the caller too). A record is never dropped for lack of
	// room (docs/adr/0025).
	Buffer int
	// MaxInFlight bounds unacknowledged asynchronous publishes (default 1024).
	MaxInFlight int
	// AckTimeout is how long one publish may wait for its ack (default 5s)
	// before it is retried.
	AckTimeout time.Duration
	// Backoff is the retry schedule of a failed publish (default 100ms..5s).
	Backoff app.Backoff
	// DrainTimeout bounds how long Run keeps publishing after ctx ends
	// (default 30s). What is still unpublished then is lost as in a crash:
	// logged record by record and counted in roster_audit_abandoned_total.
	DrainTimeout time.Duration
	// Clock paces retries and ack timeouts (default the real clock).
	Clock clockwork.Clock
	// Metrics registers the publisher's collectors (default: a private
	// registry).
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	c.Stream.SetDefaults()
	if c.Buffer == 0 {
		c.Buffer = 16384
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.Backoff == (app.Backoff{}) {
		c.Backoff = app.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 30 * time.Second
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
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
	if !c.Backoff.Valid() {
		errs = append(errs, fmt.Errorf("backoff %s..%s: want 0 < min <= max", c.Backoff.Min, c.Backoff.Max))
	}
	errs = append(errs, c.Stream.Validate())
	return errors.Join(errs...)
}

// Publisher is the Recorder services use. Record encodes the record and
// hands it to a buffer, and Run publishes the buffer asynchronously to
// roster.audit.<kind> with the record id as Nats-Msg-Id, retrying failures
// until JetStream stores it; RecordDurable publishes synchronously.
//
// Nothing is dropped by design: a full buffer makes Record wait, and a
// record Record took is retried until stored. Only a process that dies
// (or a shutdown that cannot reach JetStream within DrainTimeout) loses
// what it still buffers; that is why every record a reply or an ack
// depends on goes through RecordDurable (docs/adr/0025).
type Publisher struct {
	cfg     Config
	log     zerolog.Logger
	metrics *Metrics
	queue   chan outgoing
	pending atomic.Int64 // queued or in flight, not yet acknowledged

	// mu orders Record's sends against shutdown: Record sends under the
	// read lock; Run closes closing (releasing Records waiting for room),
	// then sets closed under the write lock, after which no send can
	// happen and the queue can be drained to the end.
	mu        sync.RWMutex
	closed    bool
	closing   chan struct{}
	closeOnce sync.Once
}

type outgoing struct {
	subject string
	id      string
	data    []byte
}

// New checks cfg and registers the metrics. Records are buffered from now
// on and published once Run runs.
func New(cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit publisher: %w", err)
	}
	m, err := NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("audit publisher: metrics: %w", err)
	}
	return &Publisher{
		cfg:     cfg,
		metrics: m,
		log:     cfg.Log.With().Str("component", "audit-publisher").Logger(),
		queue:   make(chan outgoing, cfg.Buffer),
		closing: make(chan struct{}),
	}, nil
}

// Record implements Recorder. It is safe for concurrent use and does not
// wait on the network: it waits only while the buffer is full, until there
// is room, ctx ends or the publisher shuts down. An error means the record
// was not taken; the caller decides (and is the one to tell its own caller).
func (p *Publisher) Record(ctx context.Context, r record.Record) error {
	if r == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		// Only a record type with an unencodable field gets here: a bug.
		p.metrics.RecordErrors.WithLabelValues("encode").Inc()
		return fmt.Errorf("audit record %s: %w", r.AuditID(), err)
	}
	o := outgoing{subject: record.Subject(r.AuditKind()), id: r.AuditID(), data: data}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.metrics.RecordErrors.WithLabelValues("closed").Inc()
		return fmt.Errorf("audit record %s: %w", o.id, ErrClosed)
	}
	p.pending.Add(1)
	select {
	case p.queue <- o:
		return nil
	default:
	}
	p.metrics.Backpressure.Inc()
	select {
	case p.queue <- o:
		return nil
	case <-ctx.Done():
		p.pending.Add(-1)
		p.metrics.RecordErrors.WithLabelValues("context").Inc()
		return fmt.Errorf("audit record %s: buffer full: %w", o.id, ctx.Err())
	case <-p.closing:
		p.pending.Add(-1)
		p.metrics.RecordErrors.WithLabelValues("closed").Inc()
		return fmt.Errorf("audit record %s: %w", o.id, ErrClosed)
	}
}

// Pending is the number of records recorded but not yet acknowledged by
// JetStream.
func (p *Publisher) Pending() int64 { return p.pending.Load() }

// Flush waits until every record recorded before the call is acknowledged,
// or ctx ends.
func (p *Publisher) Flush(ctx context.Context) error {
	t := p.cfg.Clock.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit flush: %d records pending: %w", p.pending.Load(), ctx.Err())
		case <-t.Chan():
		}
	}
	return nil
}

// Run publishes buffered records until ctx ends, then keeps publishing
// what is left for up to DrainTimeout. It returns nil.
func (p *Publisher) Run(ctx context.Context) error {
	if _, err := auditstream.Provision(ctx, p.cfg.JS, p.cfg.Stream); err != nil && ctx.Err() == nil {
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
			p.abandon(o)
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
	p.close()
	stop := p.cfg.Clock.AfterFunc(p.cfg.DrainTimeout, kill)
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
	return nil
}

// close stops Record from taking records; once it returns, nothing more
// enters the queue.
func (p *Publisher) close() {
	p.closeOnce.Do(func() { close(p.closing) })
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// abandon reports a record given up at the drain deadline: the process is
// going away and JetStream did not take it in time. Loud on purpose.
func (p *Publisher) abandon(o outgoing) {
	p.metrics.Abandoned.Inc()
	p.log.Error().Str("subject", o.subject).Str("id", o.id).Msg("audit record not stored before the shutdown deadline; lost")
}

// publish sends one record and waits for its ack, retrying until it is
// stored or ctx ends. The Nats-Msg-Id makes a retry after a lost ack
// harmless.
func (p *Publisher) publish(ctx context.Context, o outgoing) {
	defer p.pending.Add(-1)
	policy := p.cfg.Backoff.Policy()
	for {
		fut, err := p.cfg.JS.PublishAsync(o.subject, o.data, jetstream.WithMsgID(o.id))
		if err == nil {
			select {
			case <-fut.Ok():
				p.metrics.Published.Inc()
				return
			case err = <-fut.Err():
			case <-p.cfg.Clock.After(p.cfg.AckTimeout):
				err = errors.New("ack timeout")
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		p.metrics.PublishErrors.Inc()
		if ctx.Err() != nil {
			p.abandon(o)
			return
		}
		d := policy.NextBackOff()
		p.log.Warn().Err(err).Str("subject", o.subject).Dur("retry_in", d).Msg("audit publish failed")
		if wait.For(ctx, p.cfg.Clock, d) != nil {
			p.abandon(o)
			return
		}
	}
}

// RecordDurable implements Recorder: it publishes r once and returns only
// when JetStream has stored it (or ctx ends, or the publish fails). Callers
// that must not answer or acknowledge their own work before its audit
// record is safe use it (roster-groups before replying, the dispatcher
// before acking a delivery job, endpoint changes before replying). The
// record id stays the Nats-Msg-Id, so a retry after an error (even one
// whose ack was lost) never duplicates a row; retrying is the caller's
// choice, bounded by its own deadline.
func (p *Publisher) RecordDurable(ctx context.Context, r record.Record) error {
	if r == nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		p.metrics.RecordErrors.WithLabelValues("encode").Inc()
		return fmt.Errorf("audit record %s: %w", r.AuditID(), err)
	}
	if _, err := p.cfg.JS.Publish(ctx, record.Subject(r.AuditKind()), data, jetstream.WithMsgID(r.AuditID())); err != nil {
		p.metrics.PublishErrors.Inc()
		p.metrics.RecordErrors.WithLabelValues("publish").Inc()
		return fmt.Errorf("audit record %s: %w", r.AuditID(), err)
	}
	p.metrics.Published.Inc()
	return nil
}

// Metrics are the publisher's collectors.
func (p *Publisher) Metrics() *Metrics { return p.metrics }
