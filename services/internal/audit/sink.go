package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

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
	// (default 30s). The sink extends it while it retries ClickHouse.
	AckWait time.Duration
	// Backoff is the retry schedule while ClickHouse is down or busy
	// (default 200ms doubling to 10s).
	Backoff Backoff
	// Sleep waits between retries; tests inject one (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error

	// beforeInsert runs before each insert attempt (tests cut ClickHouse
	// there); afterInsert after a batch is in ClickHouse and before it is
	// acknowledged (tests kill the sink there).
	beforeInsert, afterInsert func()
}

func (c *SinkConfig) setDefaults() {
	c.ClickHouse.setDefaults()
	c.Stream.setDefaults()
	if c.Consumer == "" {
		c.Consumer = "roster-auditsink"
	}
	if c.EventsConsumer == "" {
		c.EventsConsumer = "roster-auditsink-events"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
}

// Validate reports every problem with c.
func (c SinkConfig) Validate() error {
	var errs []error
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
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
	if c.Backoff.Min <= 0 || c.Backoff.Max < c.Backoff.Min {
		errs = append(errs, fmt.Errorf("backoff %s..%s: want 0 < min <= max", c.Backoff.Min, c.Backoff.Max))
	}
	if c.Backoff.Max >= c.AckWait {
		errs = append(errs, fmt.Errorf("backoff max %s must be below ack wait %s (the sink extends the ack wait between retries)", c.Backoff.Max, c.AckWait))
	}
	for _, n := range []string{c.Consumer, c.EventsConsumer} {
		if err := events.ValidateID("consumer", n); err != nil {
			errs = append(errs, err)
		}
	}
	if _, _, err := c.ClickHouse.options(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Stream.Validate())
	return errors.Join(errs...)
}

// Sink moves audit records from JetStream into ClickHouse: records
// published on ROSTER_AUDIT, and every event appended to ROSTER_EVENTS
// (read directly, so an event lands even when the service that appended it
// died before it could publish a record; docs/adr/0020).
//
// Delivery is at least once: a message is acknowledged only after
// ClickHouse accepted the batch holding it; the tables collapse the copies
// a redelivery makes. A message that can never be written is republished
// on DeadLetterSubject with the reason, then acknowledged.
type Sink struct {
	cfg  SinkConfig
	log  zerolog.Logger
	conn driver.Conn
	db   string
	// running: ClickHouse is migrated and both consumers run (Ready).
	running atomic.Bool
}

// Ready reports whether the sink writes: its streams and consumers are
// provisioned, ClickHouse is migrated, and both consumers run. False
// while Run still retries any of that.
func (s *Sink) Ready() bool { return s.running.Load() }

// NewSink checks cfg. Nothing is dialled until Run.
func NewSink(cfg SinkConfig) (*Sink, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit sink: %w", err)
	}
	return &Sink{cfg: cfg, log: cfg.Log.With().Str("component", "auditsink").Logger()}, nil
}

// Run provisions the streams and the consumers, migrates ClickHouse
// (retrying while it is down) and writes batches until ctx ends. It returns
// nil on cancellation.
func (s *Sink) Run(ctx context.Context) error {
	auditStream, err := retry(s, ctx, "provision "+StreamName, func() (jetstream.Stream, error) {
		return Provision(ctx, s.cfg.JS, s.cfg.Stream)
	})
	if err != nil {
		return ignoreCancel(err)
	}
	eventStream, err := retry(s, ctx, "provision "+events.StreamName, func() (jetstream.Stream, error) {
		return eventstore.Provision(ctx, s.cfg.JS, eventstore.StreamConfig{Replicas: s.cfg.Stream.Replicas})
	})
	if err != nil {
		return ignoreCancel(err)
	}
	if _, err := retry(s, ctx, "migrate clickhouse", func() (MigrationResult, error) {
		return Migrate(ctx, s.cfg.ClickHouse)
	}); err != nil {
		return ignoreCancel(err)
	}
	conn, db, err := OpenClickHouse(s.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer conn.Close()
	s.conn, s.db = conn, db

	sources := []struct {
		stream jetstream.Stream
		name   string
		decode func(jetstream.Msg) ([]row, error)
	}{
		{auditStream, s.cfg.Consumer, decodeAuditMsg},
		{eventStream, s.cfg.EventsConsumer, decodeCommitMsg},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(sources))
	for _, src := range sources {
		cons, err := retry(s, ctx, "consumer "+src.name, func() (jetstream.Consumer, error) {
			return src.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
				Durable:     src.name,
				Description: "Roster audit sink: writes to ClickHouse",
				AckPolicy:   jetstream.AckExplicitPolicy,
				AckWait:     s.cfg.AckWait,
				MaxDeliver:  -1, // a record is never given up on: it lands or is dead-lettered
				// The pipeline holds up to four batches unacknowledged:
				// fetching, waiting, inserting, being acknowledged.
				MaxAckPending: 4 * s.cfg.BatchSize,
				DeliverPolicy: jetstream.DeliverAllPolicy,
			})
		})
		if err != nil {
			return ignoreCancel(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.consume(ctx, cons, src.name, src.decode)
		}()
	}
	s.log.Info().Str("database", db).Msg("audit sink running")
	s.running.Store(true)
	wg.Wait()
	s.running.Store(false)
	close(errs)
	var all []error
	for err := range errs {
		if err := ignoreCancel(err); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// retry calls fn until it succeeds or ctx ends, waiting per the backoff.
func retry[T any](s *Sink, ctx context.Context, what string, fn func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		d := s.cfg.Backoff.Delay(attempt)
		s.log.Warn().Err(err).Dur("retry_in", d).Msg(what + " failed")
		if err := s.cfg.Sleep(ctx, d); err != nil {
			return v, err
		}
	}
}

// item is one message and the rows it becomes.
type item struct {
	msg  jetstream.Msg
	rows []row
}

// consume runs one consumer as a pipeline of three goroutines, so that
// ClickHouse, JetStream and the CPU work at the same time:
//
//	read:  fetch a batch and decode it          (batch n+1)
//	write: insert a batch into ClickHouse        (batch n)
//	ack:   acknowledge a batch ClickHouse took   (batch n-1)
//
// A batch reaches the acker only after its insert returned, so no message
// is acknowledged before ClickHouse accepted it. The channels are
// unbuffered: the reader holds at most one decoded batch ahead of the
// writer (and keeps it from being redelivered while it waits), so an
// outage pulls no more messages out of JetStream than one batch beyond
// the one being retried.
func (s *Sink) consume(ctx context.Context, cons jetstream.Consumer, name string, decode func(jetstream.Msg) ([]row, error)) error {
	log := s.log.With().Str("consumer", name).Logger()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	decoded := make(chan []item)
	written := make(chan []item)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(decoded)
		readErr = s.read(ctx, cons, log, decode, decoded)
	}()
	go func() {
		defer wg.Done()
		s.ack(log, written)
	}()
	writeErr := s.write(ctx, decoded, written)
	close(written)
	cancel() // stops the reader if the writer gave up first
	wg.Wait()
	// Both stop only when ctx ends (their errors are then ctx's, or a
	// dead-letter publish cut short by it).
	return errors.Join(ignoreCancel(writeErr), ignoreCancel(readErr))
}

// read fetches batches and decodes them, dead-lettering the messages that
// can never be written, and hands each batch to the writer.
func (s *Sink) read(ctx context.Context, cons jetstream.Consumer, log zerolog.Logger, decode func(jetstream.Msg) ([]row, error), out chan<- []item) error {
	for ctx.Err() == nil {
		// One fetch is one batch: it returns when BatchSize messages came
		// or FlushInterval passed, whichever is first.
		batch, err := cons.Fetch(s.cfg.BatchSize, jetstream.FetchMaxWait(s.cfg.FlushInterval))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			d := s.cfg.Backoff.Delay(0)
			log.Warn().Err(err).Msg("fetch failed")
			if err := s.cfg.Sleep(ctx, d); err != nil {
				break
			}
			continue
		}
		items := make([]item, 0, s.cfg.BatchSize)
		for msg := range batch.Messages() {
			rows, err := decode(msg)
			if err != nil {
				if err := s.deadLetter(ctx, msg, err.Error()); err != nil {
					return err
				}
				continue
			}
			if rows == nil { // nothing to write (a dead letter passing by)
				_ = msg.Ack()
				continue
			}
			items = append(items, item{msg: msg, rows: rows})
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			log.Debug().Err(err).Msg("fetch ended early")
		}
		if len(items) == 0 {
			continue
		}
		if err := s.handOver(ctx, items, out); err != nil {
			return err // the unacknowledged messages will be redelivered
		}
	}
	return ctx.Err()
}

// handOver waits until the writer takes items. While the writer is busy
// (a slow insert, or retries during an outage) it tells JetStream the
// messages are still being worked on, so they are not redelivered to
// another sink meanwhile.
func (s *Sink) handOver(ctx context.Context, items []item, out chan<- []item) error {
	select { // the common case: the writer is already waiting
	case out <- items:
		return nil
	default:
	}
	tick := time.NewTicker(s.cfg.AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case out <- items:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			for _, it := range items {
				_ = it.msg.InProgress()
			}
		}
	}
}

// write inserts each batch (retrying, or isolating refused records) and
// passes it on to be acknowledged.
func (s *Sink) write(ctx context.Context, in <-chan []item, out chan<- []item) error {
	for items := range in {
		if err := s.store(ctx, items); err != nil {
			return err // ctx ended: the unacknowledged messages will be redelivered
		}
		if s.cfg.afterInsert != nil {
			s.cfg.afterInsert()
		}
		// The acker never blocks for long, so this send does not either; a
		// batch that is in ClickHouse is always acknowledged, even when ctx
		// ends right now.
		out <- items
	}
	return ctx.Err()
}

// ack acknowledges batches that ClickHouse accepted, until in is closed
// (not when ctx ends: a batch that reached it is in ClickHouse, and an ack
// sent now saves a redelivery). Acks are fire-and-forget publishes.
func (s *Sink) ack(log zerolog.Logger, in <-chan []item) {
	for items := range in {
		for _, it := range items {
			// A lost ack only means a redelivery, which the tables absorb.
			if err := it.msg.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				log.Debug().Err(err).Msg("ack failed")
			}
		}
	}
}

// store writes items, retrying while ClickHouse is unreachable. When
// ClickHouse refuses rows, it finds the refused messages by writing them one
// by one and dead-letters those. It returns only when every item is written
// or dead-lettered, or ctx ended.
func (s *Sink) store(ctx context.Context, items []item) error {
	for attempt := 0; ; attempt++ {
		if s.cfg.beforeInsert != nil {
			s.cfg.beforeInsert()
		}
		err := s.insert(ctx, items)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) {
			metricInsertErrors.WithLabelValues("permanent").Inc()
			if len(items) == 1 {
				return s.deadLetter(ctx, items[0].msg, "clickhouse refused the record: "+err.Error())
			}
			s.log.Warn().Err(err).Int("messages", len(items)).Msg("clickhouse refused a batch; writing its messages one by one")
			for i := range items {
				if err := s.store(ctx, items[i:i+1]); err != nil {
					return err
				}
			}
			return nil
		}
		metricInsertErrors.WithLabelValues("transient").Inc()
		if needsMigration(err) {
			if _, merr := Migrate(ctx, s.cfg.ClickHouse); merr != nil {
				s.log.Warn().Err(merr).Msg("re-migrate failed")
			}
		}
		d := s.cfg.Backoff.Delay(attempt)
		s.log.Warn().Err(err).Int("messages", len(items)).Dur("retry_in", d).Msg("clickhouse insert failed; records wait in JetStream")
		// Keep JetStream from redelivering what this sink still holds.
		for _, it := range items {
			_ = it.msg.InProgress()
		}
		if err := s.cfg.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// insert writes every row of items, one batch per table.
func (s *Sink) insert(ctx context.Context, items []item) error {
	for _, t := range allTables {
		var rows []row
		for _, it := range items {
			for _, r := range it.rows {
				if r.table == t {
					rows = append(rows, r)
				}
			}
		}
		if len(rows) == 0 {
			continue
		}
		if err := s.insertTable(ctx, t, rows); err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
		metricRows.WithLabelValues(t.name).Add(float64(len(rows)))
	}
	return nil
}

func (s *Sink) insertTable(ctx context.Context, t *table, rows []row) error {
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := s.conn.PrepareBatch(ictx, t.insert(s.db))
	if err != nil {
		return err
	}
	defer b.Close()
	for _, r := range rows {
		if err := b.Append(r.values...); err != nil {
			return errRowRejected{fmt.Errorf("record %s: %w", r.id, err)}
		}
	}
	return b.Send()
}

// deadLetter republishes msg on DeadLetterSubject with reason, then acks
// it. It retries the publish until it is stored or ctx ends: a record is
// never dropped silently.
func (s *Sink) deadLetter(ctx context.Context, msg jetstream.Msg, reason string) error {
	dl := nats.NewMsg(DeadLetterSubject)
	dl.Data = msg.Data()
	dl.Header.Set(HeaderDeadLetterReason, truncateUTF8(reason, 4096))
	dl.Header.Set(HeaderDeadLetterSubject, msg.Subject())
	id := "deadletter:" + msg.Subject()
	if meta, err := msg.Metadata(); err == nil {
		dl.Header.Set(HeaderDeadLetterStream, meta.Stream)
		dl.Header.Set(HeaderDeadLetterSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
		id = "deadletter:" + meta.Stream + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
	}
	if _, err := retry(s, ctx, "publish dead letter", func() (*jetstream.PubAck, error) {
		return s.cfg.JS.PublishMsg(ctx, dl, jetstream.WithMsgID(id))
	}); err != nil {
		return err
	}
	metricDeadLetters.Inc()
	s.log.Error().Str("subject", msg.Subject()).Str("reason", reason).Msg("audit record dead-lettered")
	if err := msg.Ack(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		s.log.Debug().Err(err).Msg("ack of dead-lettered message failed")
	}
	return nil
}

// decodeAuditMsg turns a ROSTER_AUDIT message into its row. Dead letters
// live in the same stream and are skipped (nil rows).
func decodeAuditMsg(msg jetstream.Msg) ([]row, error) {
	subj := msg.Subject()
	if subj == DeadLetterSubject {
		return nil, nil
	}
	kind := Kind(strings.TrimPrefix(subj, SubjectPrefix))
	r, err := DecodeRecord(kind, msg.Data())
	if err != nil {
		return nil, err
	}
	rw, err := toRow(r)
	if err != nil {
		return nil, err
	}
	return []row{rw}, nil
}

// decodeCommitMsg turns a ROSTER_EVENTS commit into one events row per
// event and the command's accepted commands row.
func decodeCommitMsg(msg jetstream.Msg) ([]row, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, malformed("metadata: %v", err)
	}
	c, err := eventstore.DecodeCommit(msg.Data())
	if err != nil {
		return nil, malformed("%v", err)
	}
	evs, err := EventsFromCommit(c, meta.Sequence.Stream)
	if err != nil {
		return nil, err
	}
	rows := make([]row, 0, len(evs)+1)
	for _, e := range evs {
		rw, err := toRow(e)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rw)
	}
	if cmd, ok := CommandFromCommit(c, msg.Headers()); ok {
		rw, err := toRow(cmd)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rw)
	}
	return rows, nil
}
