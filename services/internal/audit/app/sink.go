package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// SinkConfig configures the sink use case.
type SinkConfig struct {
	Store RecordStore
	Log   zerolog.Logger
	// BatchSize is the most messages written in one insert (default 1000);
	// FlushInterval the longest a message waits for its batch to fill
	// (default 1s).
	BatchSize     int
	FlushInterval time.Duration
	// AckWait is the sources' ack wait (default 6s): a message held
	// longer without InProgress is redelivered. The sink calls InProgress
	// on what it holds every AckWait/3 while it waits or retries.
	AckWait time.Duration
	// Backoff is the retry schedule while the store is down or busy
	// (default 200ms doubling to 5s); it must stay below AckWait.
	Backoff Backoff
	// Clock paces retries and InProgress heartbeats (default the real
	// clock; tests use clockwork.NewFakeClock).
	Clock clockwork.Clock
	// Metrics registers the sink's collectors (default: a private registry).
	Metrics prometheus.Registerer
}

// SetDefaults fills the zero fields (the wiring applies them before
// checking its own config).
func (c *SinkConfig) SetDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.AckWait == 0 {
		// Short, so a sink that replaces a killed one gets its batches
		// within seconds; what a live sink holds longer is kept with
		// InProgress (hand-over, insert, retries).
		c.AckWait = 6 * time.Second
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
}

// Validate reports every problem with c.
func (c SinkConfig) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if c.BatchSize < 1 || c.BatchSize > 100_000 {
		errs = append(errs, fmt.Errorf("batch size %d: must be 1..100000", c.BatchSize))
	}
	if c.FlushInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("flush interval %s: must be at least 10ms", c.FlushInterval))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ack wait %s: must be at least 1s", c.AckWait))
	}
	if !c.Backoff.Valid() {
		errs = append(errs, fmt.Errorf("backoff %s..%s: want 0 < min <= max", c.Backoff.Min, c.Backoff.Max))
	}
	if c.Backoff.Max >= c.AckWait {
		errs = append(errs, fmt.Errorf("backoff max %s must be below ack wait %s (the sink extends the ack wait between retries)", c.Backoff.Max, c.AckWait))
	}
	return errors.Join(errs...)
}

// Sink moves records from their sources into the store.
//
// Delivery is at least once: a message is acknowledged only after the
// store accepted the batch holding it; the store collapses the copies a
// redelivery makes. A message that can never be written is dead-lettered
// with the reason (Source.DeadLetter), never dropped silently.
type Sink struct {
	cfg     SinkConfig
	log     zerolog.Logger
	metrics *SinkMetrics
}

// NewSink checks cfg (after defaults) and registers the metrics.
func NewSink(cfg SinkConfig) (*Sink, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := NewSinkMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Sink{cfg: cfg, log: cfg.Log, metrics: m}, nil
}

// Metrics are the sink's collectors.
func (s *Sink) Metrics() *SinkMetrics { return s.metrics }

// Run consumes every source until ctx ends, one pipeline each (pipeline.go),
// and returns nil on cancellation.
func (s *Sink) Run(ctx context.Context, sources ...Source) error {
	var wg sync.WaitGroup
	errs := make([]error, len(sources))
	for i, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = IgnoreCancel(s.consume(ctx, src))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// IgnoreCancel is err, or nil when err is a cancellation (a normal stop).
func IgnoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// deadLetter sets m aside through src, retrying until that is stored or
// ctx ends: a record is never dropped silently.
func (s *Sink) deadLetter(ctx context.Context, src Source, m Message, reason string) error {
	_, err := Retry(ctx, s.cfg.Clock, s.cfg.Backoff, func(err error, d time.Duration) {
		s.log.Warn().Err(err).Dur("retry_in", d).Msg("publish dead letter failed")
	}, func() (struct{}, error) {
		return struct{}{}, src.DeadLetter(ctx, m, reason)
	})
	if err != nil {
		return err
	}
	s.metrics.DeadLetters.Inc()
	s.log.Error().Str("source", src.Name()).Str("reason", reason).Msg("audit record dead-lettered")
	return nil
}
