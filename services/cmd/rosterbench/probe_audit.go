package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

type auditOptions struct {
	Rows    int
	DSN     string
	Timeout time.Duration
	// Rounds is how many times each phase runs, sink and baseline
	// alternating first; the round with the median ratio is reported.
	Rounds int
}

// auditRound is one sink phase and one baseline phase, back to back.
type auditRound struct {
	Rate, Baseline float64
	Rows           uint64
	Took, BaseTook time.Duration
	Done           bool
	SinkFirst      bool
}

func (r auditRound) ratio() float64 {
	if r.Baseline == 0 {
		return 0
	}
	return r.Rate / r.Baseline
}

// auditResult is the round with the median ratio, beside every round.
type auditResult struct {
	auditRound
	Batch  int
	Rounds []auditRound
}

// auditBatch is the sink's default batch size (audit.SinkConfig.BatchSize);
// the baseline inserts in batches of the same size.
const auditBatch = 1000

// runAuditProbe fills ROSTER_AUDIT with o.Rows command records through the
// real audit.Publisher once, then runs o.Rounds rounds of two phases, in
// alternating order: audit.Sink moving every record into ClickHouse (a
// fresh durable consumer and a fresh database each round), and the
// baseline, plain clickhouse-go batches of the same rows into a table of
// the same definition in the same database.
//
// Both phases end when ClickHouse acknowledged the insert of the last row:
// for the baseline when its last Send returns, for the sink when its
// rows-inserted counter (incremented after an insert returned) reaches
// o.Rows. Watching the counter in-process instead of polling count() keeps
// the probe's own queries off ClickHouse during the sink's phase (a
// count() of the table costs ClickHouse 18.16 several milliseconds of CPU
// each); a uniqExact(id) after the phase, outside its time, checks that the
// rows are there, once each. Everything lives in databases of its own,
// dropped at the end.
func runAuditProbe(ctx context.Context, o auditOptions, prof *profiler) (auditResult, error) {
	res := auditResult{Batch: auditBatch}
	if o.DSN == "" {
		return res, errors.New("no ClickHouse: set --clickhouse or ROSTER_CLICKHOUSE_DSN (scripts/bench starts one)")
	}
	rounds := max(o.Rounds, 1)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	base := "rosterbench_" + hex.EncodeToString(suffix)
	chs := make([]audit.ClickHouseConfig, rounds)
	for i := range chs {
		chs[i] = audit.ClickHouseConfig{DSN: o.DSN, Database: base + "_" + strconv.Itoa(i+1)}
	}
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: o.DSN, Database: "system"})
	if err != nil {
		return res, err
	}
	defer conn.Close()
	defer func() {
		for _, ch := range chs {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := conn.Exec(dctx, "DROP DATABASE IF EXISTS "+ch.Database); err != nil {
				progress("audit: drop %s: %v", ch.Database, err)
			}
			cancel()
		}
	}()
	for _, ch := range chs {
		if _, err := audit.Migrate(ctx, ch); err != nil {
			return res, fmt.Errorf("migrate ClickHouse: %w", err)
		}
		if err := conn.Exec(ctx, "CREATE TABLE "+ch.Database+".commands_baseline AS "+ch.Database+".commands"); err != nil {
			return res, fmt.Errorf("baseline table: %w", err)
		}
	}

	env, err := startNATS(false)
	if err != nil {
		return res, err
	}
	defer env.close()
	nc, js, err := connect(env.url(), "rosterbench-audit")
	if err != nil {
		return res, err
	}
	defer nc.Close()
	if _, err := eventstore.Provision(ctx, js, eventstore.StreamConfig{}); err != nil {
		return res, err
	}

	fix, err := publishAudit(ctx, js, o.Rows)
	if err != nil {
		return res, err
	}

	for i := range rounds {
		r := auditRound{SinkFirst: i%2 == 0}
		db := chs[i].Database
		sinkPhase := func() error {
			progress("audit: round %d/%d: Roster, audit.Sink from %s into ClickHouse", i+1, rounds, audit.StreamName)
			runtime.GC()
			stopProf := func() {}
			if i == 0 {
				stopProf = prof.start("audit")
			}
			defer stopProf()
			took, rows, done, err := runAuditSink(ctx, js, conn, chs[i], "rosterbench-audit-"+strconv.Itoa(i+1), o)
			r.Took, r.Rows, r.Done = took, rows, done
			r.Rate = perSecond(int(rows), took)
			return err
		}
		basePhase := func() error {
			progress("audit: round %d/%d: baseline, plain batch inserts of the same rows (batches of %d)", i+1, rounds, auditBatch)
			recs, err := fix.records()
			if err != nil {
				return err
			}
			runtime.GC()
			t0 := time.Now()
			if err := insertCommands(ctx, conn, db+".commands_baseline", recs); err != nil {
				return fmt.Errorf("baseline insert: %w", err)
			}
			r.BaseTook = time.Since(t0)
			r.Baseline = perSecond(len(recs), r.BaseTook)
			return nil
		}
		phases := []func() error{sinkPhase, basePhase}
		if !r.SinkFirst {
			slices.Reverse(phases)
		}
		for _, p := range phases {
			if err := p(); err != nil {
				return res, err
			}
		}
		progress("audit: round %d/%d: %.0f rows/s against %.0f, ratio %.2f", i+1, rounds, r.Rate, r.Baseline, r.ratio())
		res.Rounds = append(res.Rounds, r)
	}
	res.auditRound = medianRound(res.Rounds)
	return res, nil
}

// medianRound is the round whose ratio is the median (the lower of the two
// middle ones for an even count), Done only if every round was.
func medianRound(rounds []auditRound) auditRound {
	sorted := slices.Clone(rounds)
	slices.SortStableFunc(sorted, func(a, b auditRound) int {
		switch {
		case a.ratio() < b.ratio():
			return -1
		case a.ratio() > b.ratio():
			return 1
		}
		return 0
	})
	m := sorted[(len(sorted)-1)/2]
	for _, r := range rounds {
		m.Done = m.Done && r.Done
	}
	return m
}

// auditFixture is the records the probe published, as their JSON back to
// back. The probe keeps them in this form, not as structs, so that they
// are not 200,000 records of pointers for the garbage collector to scan
// during the sink's phase (the sink allocates; the baseline hardly does);
// the baseline decodes them again before its timing starts.
type auditFixture struct {
	data []byte
	ends []int
}

func (f auditFixture) records() ([]audit.Command, error) {
	out := make([]audit.Command, len(f.ends))
	from := 0
	for i, end := range f.ends {
		if err := json.Unmarshal(f.data[from:end], &out[i]); err != nil {
			return nil, fmt.Errorf("fixture record %d: %w", i, err)
		}
		from = end
	}
	return out, nil
}

// publishAudit puts n command records into ROSTER_AUDIT through the real
// publisher and returns them.
func publishAudit(ctx context.Context, js jetstream.JetStream, n int) (auditFixture, error) {
	var fix auditFixture
	progress("audit: publishing %d records to %s", n, audit.StreamName)
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: js, Log: benchLog()})
	if err != nil {
		return fix, err
	}
	pctx, pcancel := context.WithCancel(ctx)
	pdone := make(chan error, 1)
	go func() { pdone <- pub.Run(pctx) }()
	at := time.Now().UTC()
	fix.ends = make([]int, 0, n)
	for i := range n {
		r := commandRecord(i, at)
		b, err := json.Marshal(r)
		if err == nil {
			err = pub.Record(ctx, r)
		}
		if err != nil {
			pcancel()
			<-pdone
			return fix, fmt.Errorf("publish audit records: %w", err)
		}
		fix.data = append(fix.data, b...)
		fix.ends = append(fix.ends, len(fix.data))
	}
	ferr := pub.Flush(ctx)
	pcancel()
	<-pdone
	if ferr != nil {
		return fix, fmt.Errorf("publish audit records: %w", ferr)
	}
	return fix, nil
}

// runAuditSink runs a sink with its own durable consumers (named after
// consumer) into ch until its rows-inserted counter of the commands table
// reaches o.Rows, and returns the time from its start. The counter counts a
// redelivered row again, so the rows are then checked with uniqExact(id);
// should that find fewer, the phase goes on until it finds them all.
func runAuditSink(ctx context.Context, js jetstream.JetStream, conn driver.Conn, ch audit.ClickHouseConfig, consumer string, o auditOptions) (took time.Duration, rows uint64, done bool, err error) {
	sink, err := audit.NewSink(audit.SinkConfig{JS: js, Log: benchLog().With().Str("component", "auditsink").Logger(), ClickHouse: ch,
		Consumer: consumer, EventsConsumer: consumer + "-events", Metrics: prometheus.NewRegistry()})
	if err != nil {
		return 0, 0, false, err
	}
	inserted := sink.Metrics().Rows.WithLabelValues("commands")
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan error, 1)
	t0 := time.Now()
	go func() { sdone <- sink.Run(sctx) }()
	defer func() {
		scancel()
		if err := <-sdone; err != nil && !errors.Is(err, context.Canceled) {
			progress("audit: sink stopped with %v", err)
		}
	}()
	deadline := t0.Add(o.Timeout)
	unique := func() uint64 {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT uniqExact(id) FROM "+ch.Database+".commands").Scan(&n); err != nil {
			progress("audit: count rows: %v", err)
		}
		return n
	}
	for counterValue(inserted) < float64(o.Rows) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	took = time.Since(t0)
	for rows = unique(); rows < uint64(o.Rows) && time.Now().Before(deadline) && ctx.Err() == nil; rows = unique() {
		time.Sleep(20 * time.Millisecond)
		took = time.Since(t0)
	}
	return took, rows, rows >= uint64(o.Rows), nil
}

// counterValue reads a counter of this process.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// commandRecord makes the i-th of the probe's plausible command records.
func commandRecord(i int, at time.Time) audit.Command {
	body := fmt.Sprintf(`{"group_id":"g-%06d","actor":"owner","user_ids":["u-%06d"]}`, i%10000, i)
	sum := sha256.Sum256([]byte(body))
	return audit.Command{
		ID: uuid.NewString(), CommandID: uuid.NewString(), Subject: "roster.cmd.member.invite",
		GroupID: fmt.Sprintf("g-%06d", i%10000), Actor: "owner", Outcome: "accepted", Version: uint64(i/10000 + 2),
		LatencyUS: int64(300 + i%700), ReceivedAt: at.Add(time.Duration(i) * time.Microsecond),
		PayloadHash: hex.EncodeToString(sum[:]), PayloadSize: len(body),
	}
}

// insertCommands is the baseline: the columns and Go types of the
// commands table (services/internal/audit/adapters/clickhouse/tables.go),
// plain row-wise batches.
func insertCommands(ctx context.Context, conn driver.Conn, table string, recs []audit.Command) error {
	const cols = "id, command_id, subject, group_id, actor, outcome, error_code, error_message, version, latency_us, received_at, received_at_us, payload_sha256, payload_size"
	for from := 0; from < len(recs); from += auditBatch {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+cols+")")
		if err != nil {
			return err
		}
		for _, r := range recs[from:min(from+auditBatch, len(recs))] {
			if err := b.Append(r.ID, r.CommandID, r.Subject, r.GroupID, r.Actor, r.Outcome, r.ErrorCode, r.ErrorMsg,
				r.Version, r.LatencyUS, r.ReceivedAt.UTC(), r.ReceivedAt.UnixMicro(), r.PayloadHash, uint32(r.PayloadSize)); err != nil {
				return err
			}
		}
		if err := b.Send(); err != nil {
			return err
		}
	}
	return nil
}

// auditRatios lists the rounds' ratios in order, each marked with the
// phase that ran first ("s" the sink, "b" the baseline).
func auditRatios(rounds []auditRound) string {
	out := ""
	for i, r := range rounds {
		if i > 0 {
			out += " "
		}
		first := "b"
		if r.SinkFirst {
			first = "s"
		}
		out += fmt.Sprintf("%.2f%s", r.ratio(), first)
	}
	return out
}
