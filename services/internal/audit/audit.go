// Package audit is Roster's audit trail: the records services publish to the
// JetStream stream ROSTER_AUDIT, and the sink that writes them, and every
// event of ROSTER_EVENTS, to ClickHouse (database roster, tables commands,
// events, delivery_attempts, endpoint_changes).
//
// Layout (docs/adr/0070): package record is the domain (record types, their
// rules, the Recorder port); app the use cases (the sink pipeline, the
// queries) with the interfaces they need; adapters/clickhouse the store,
// adapters/auditstream the JetStream side, adapters/memory an in-memory
// store for fast tests; ports/publisher the Recorder services use. This
// package is the one services import: it re-exports the domain's names
// (records.go), decodes what the sink reads (decode.go, fastjson.go) and
// wires the pieces together (this file).
package audit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
	"github.com/rosterhq/roster/services/internal/audit/adapters/clickhouse"
	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/ports/publisher"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// The pieces' names, re-exported for the services and commands that wire
// or read the trail.
type (
	// Backoff is a retry schedule (app.Backoff).
	Backoff = app.Backoff
	// Filter narrows an audit query (app.Filter).
	Filter = app.Filter
	// Queries are the trail's read use cases (app.Queries).
	Queries = app.Queries
	// ClickHouseConfig says where the trail lives (clickhouse.Config).
	ClickHouseConfig = clickhouse.Config
	// MigrationResult lists what Migrate did.
	MigrationResult = clickhouse.MigrationResult
	// Reader answers audit queries on ClickHouse (clickhouse.Reader).
	Reader = clickhouse.Reader
	// StreamConfig is what an operator may choose about ROSTER_AUDIT.
	StreamConfig = auditstream.StreamConfig
	// Publisher is the Recorder services use (publisher.Publisher).
	Publisher = publisher.Publisher
	// PublisherConfig configures a Publisher.
	PublisherConfig = publisher.Config
)

const (
	// DefaultDatabase is the audit trail's database (public contract).
	DefaultDatabase = clickhouse.DefaultDatabase
	// DefaultDSN is where the dev stack and tests find ClickHouse.
	DefaultDSN = clickhouse.DefaultDSN
)

// ErrClosed is returned by Record once the publisher has stopped taking
// records.
var ErrClosed = publisher.ErrClosed

// NewPublisher checks cfg; records are buffered from now on and published
// once Run runs.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) { return publisher.New(cfg) }

// Provision creates ROSTER_AUDIT when missing and returns it.
func Provision(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	return auditstream.Provision(ctx, js, cfg)
}

// Migrate creates the database when missing and applies the DDL not yet
// applied (idempotent, safe to run concurrently).
func Migrate(ctx context.Context, cfg ClickHouseConfig) (MigrationResult, error) {
	return clickhouse.Migrate(ctx, cfg)
}

// OpenClickHouse connects (lazily) to the trail's database (which must
// exist: run Migrate first) and returns the connection and the database.
func OpenClickHouse(cfg ClickHouseConfig) (driver.Conn, string, error) { return clickhouse.Open(cfg) }

// OpenQueries wires the trail's queries to ClickHouse for a caller that
// only reads (the roster audit verbs). Close releases the connection.
func OpenQueries(cfg ClickHouseConfig) (q Queries, closeFn func() error, err error) {
	conn, db, err := clickhouse.Open(cfg)
	if err != nil {
		return Queries{}, nil, err
	}
	return Queries{Reader: clickhouse.Reader{Conn: conn, DB: db}}, conn.Close, nil
}

// SinkConfig configures the audit sink.
type SinkConfig struct {
	JS  jetstream.JetStream
	Log zerolog.Logger
	// ClickHouse says where to write; its tables are migrated at start-up.
	ClickHouse ClickHouseConfig
	// Stream is ROSTER_AUDIT's configuration when the sink creates it.
	Stream StreamConfig
	// Consumer is the durable consumer on ROSTER_AUDIT (default
	// "roster-auditsink"); EventsConsumer the one on ROSTER_EVENTS (default
	// "roster-auditsink-events"). Several sinks sharing the names share
	// the work.
	Consumer       string
	EventsConsumer string
	// BatchSize is the most messages written in one insert (default 1000);
	// FlushInterval the longest a message waits for its batch to fill
	// (default 1s).
	BatchSize     int
	FlushInterval time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 6s). The sink extends it while it holds messages: waiting,
	// inserting and retrying ClickHouse.
	AckWait time.Duration
	// Backoff is the retry schedule while ClickHouse or JetStream is down
	// or busy (default 200ms doubling to 5s).
	Backoff Backoff
	// Clock paces retries and heartbeats (default the real clock).
	Clock clockwork.Clock
	// Metrics registers the sink's collectors (default: a private
	// registry; rosterd passes its process registry, which /metrics serves).
	Metrics prometheus.Registerer

	// beforeInsert runs before each insert attempt (tests cut ClickHouse
	// there); afterInsert after a batch is in ClickHouse and before it is
	// acknowledged (tests kill the sink there).
	beforeInsert, afterInsert func()
}

func (c *SinkConfig) setDefaults() {
	c.ClickHouse.SetDefaults()
	c.Stream.SetDefaults()
	if c.Consumer == "" {
		c.Consumer = "roster-auditsink"
	}
	if c.EventsConsumer == "" {
		c.EventsConsumer = "roster-auditsink-events"
	}
	a := c.app(nil)
	a.SetDefaults()
	c.BatchSize, c.FlushInterval, c.AckWait, c.Backoff, c.Clock = a.BatchSize, a.FlushInterval, a.AckWait, a.Backoff, a.Clock
}

// app is the pipeline's share of c.
func (c SinkConfig) app(store app.RecordStore) app.SinkConfig {
	return app.SinkConfig{Store: store, Log: c.Log, BatchSize: c.BatchSize, FlushInterval: c.FlushInterval,
		AckWait: c.AckWait, Backoff: c.Backoff, Clock: c.Clock, Metrics: c.Metrics}
}

// Validate reports every problem with c (after defaults: NewSink applies
// them).
func (c SinkConfig) Validate() error {
	errs := []error{c.app(&storeRef{}).Validate()}
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	for _, n := range []string{c.Consumer, c.EventsConsumer} {
		if err := events.ValidateID("consumer", n); err != nil {
			errs = append(errs, err)
		}
	}
	if _, _, err := c.ClickHouse.Options(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Stream.Validate())
	return errors.Join(errs...)
}

// Sink moves audit records from JetStream into ClickHouse: records
// published on ROSTER_AUDIT, and every event appended to ROSTER_EVENTS
// (read directly, so an event lands even when the service that appended it
// died before it could publish a record; docs/adr/0020). The pipeline is
// app.Sink; this wiring provisions what it needs first.
//
// Delivery is at least once: a message is acknowledged only after
// ClickHouse accepted the batch holding it; the tables collapse the copies
// a redelivery makes. A message that can never be written is republished
// on DeadLetterSubject with the reason, then acknowledged.
type Sink struct {
	cfg   SinkConfig
	log   zerolog.Logger
	store *storeRef
	pipe  *app.Sink
	// running: ClickHouse is migrated and both consumers run (Ready).
	running atomic.Bool
}

// NewSink checks cfg. Nothing is dialled until Run.
func NewSink(cfg SinkConfig) (*Sink, error) {
	cfg.setDefaults()
	log := cfg.Log.With().Str("component", "auditsink").Logger()
	cfg.Log = log
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit sink: %w", err)
	}
	store := &storeRef{before: cfg.beforeInsert, after: cfg.afterInsert}
	pipe, err := app.NewSink(cfg.app(store))
	if err != nil {
		return nil, fmt.Errorf("audit sink: %w", err)
	}
	return &Sink{cfg: cfg, log: log, store: store, pipe: pipe}, nil
}

// Ready reports whether the sink writes: its streams and consumers are
// provisioned, ClickHouse is migrated, and both consumers run. False
// while Run still retries any of that.
func (s *Sink) Ready() bool { return s.running.Load() }

// Metrics are the sink's collectors.
func (s *Sink) Metrics() *app.SinkMetrics { return s.pipe.Metrics() }

// Run provisions the streams and the consumers, migrates ClickHouse
// (retrying while it is down) and writes batches until ctx ends. It returns
// nil on cancellation.
func (s *Sink) Run(ctx context.Context) error {
	retry := func(what string) func(error, time.Duration) {
		return func(err error, d time.Duration) { s.log.Warn().Err(err).Dur("retry_in", d).Msg(what + " failed") }
	}
	backoff := s.cfg.Backoff
	auditStream, err := app.Retry(ctx, s.cfg.Clock, backoff, retry("provision "+StreamName), func() (jetstream.Stream, error) {
		return auditstream.Provision(ctx, s.cfg.JS, s.cfg.Stream)
	})
	if err != nil {
		return app.IgnoreCancel(err)
	}
	eventStream, err := app.Retry(ctx, s.cfg.Clock, backoff, retry("provision "+events.StreamName), func() (jetstream.Stream, error) {
		return eventstore.Provision(ctx, s.cfg.JS, eventstore.StreamConfig{Replicas: s.cfg.Stream.Replicas})
	})
	if err != nil {
		return app.IgnoreCancel(err)
	}
	if _, err := app.Retry(ctx, s.cfg.Clock, backoff, retry("migrate clickhouse"), func() (MigrationResult, error) {
		return clickhouse.Migrate(ctx, s.cfg.ClickHouse)
	}); err != nil {
		return app.IgnoreCancel(err)
	}
	conn, db, err := clickhouse.Open(s.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer conn.Close()
	s.store.set(clickhouse.NewStore(conn, db, s.cfg.ClickHouse, s.log))

	var sources []app.Source
	for _, src := range []struct {
		stream jetstream.Stream
		name   string
		decode auditstream.Decoder
		opts   []auditstream.SourceOption
	}{
		{auditStream, s.cfg.Consumer, decodeAuditMsg, nil},
		// A commit's events record their stream sequence.
		{eventStream, s.cfg.EventsConsumer, decodeCommitMsg, []auditstream.SourceOption{auditstream.WithStreamSeq()}},
	} {
		cons, err := app.Retry(ctx, s.cfg.Clock, backoff, retry("consumer "+src.name), func() (jetstream.Consumer, error) {
			return auditstream.Consumer(ctx, src.stream, auditstream.ConsumerConfig{
				Name: src.name, AckWait: s.cfg.AckWait, MaxAckPending: 4 * s.cfg.BatchSize,
			})
		})
		if err != nil {
			return app.IgnoreCancel(err)
		}
		sources = append(sources, auditstream.NewSource(src.name, cons, s.cfg.JS, src.decode, s.log, src.opts...))
	}
	s.log.Info().Str("database", db).Msg("audit sink running")
	s.running.Store(true)
	defer s.running.Store(false)
	return s.pipe.Run(ctx, sources...)
}

// storeRef is the pipeline's store: the ClickHouse store Run opens, behind
// the test hooks.
type storeRef struct {
	next          atomic.Pointer[clickhouse.Store]
	before, after func()
}

func (r *storeRef) set(s *clickhouse.Store) { r.next.Store(s) }

// Insert implements app.RecordStore.
func (r *storeRef) Insert(ctx context.Context, batch []record.Record) error {
	if r.before != nil {
		r.before()
	}
	s := r.next.Load()
	if s == nil {
		return errors.New("clickhouse store not open yet")
	}
	if err := s.Insert(ctx, batch); err != nil {
		return err
	}
	if r.after != nil {
		r.after()
	}
	return nil
}
