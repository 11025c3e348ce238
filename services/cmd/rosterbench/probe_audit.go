package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

type auditOptions struct {
	Rows    int
	DSN     string
	Timeout time.Duration
}

type auditResult struct {
	Rate, Baseline float64
	Rows           uint64
	Took, BaseTook time.Duration
	Done           bool
	Batch          int
}

// auditBatch is the sink's default batch size (audit.SinkConfig.BatchSize);
// the baseline inserts in batches of the same size.
const auditBatch = 1000

// runAuditProbe fills ROSTER_AUDIT with o.Rows command records through the
// real audit.Publisher, then starts audit.Sink and times how long the rows
// take to be in ClickHouse (count() of the commands table). The baseline
// inserts the same rows with plain clickhouse-go batches into a table of
// the same definition. Everything lives in a database of its own, dropped
// at the end.
func runAuditProbe(ctx context.Context, o auditOptions, prof *profiler) (auditResult, error) {
	res := auditResult{Batch: auditBatch}
	if o.DSN == "" {
		return res, errors.New("no ClickHouse: set --clickhouse or ROSTER_CLICKHOUSE_DSN (scripts/bench starts one)")
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	ch := audit.ClickHouseConfig{DSN: o.DSN, Database: "rosterbench_" + hex.EncodeToString(suffix)}
	if _, err := audit.Migrate(ctx, ch); err != nil {
		return res, fmt.Errorf("migrate ClickHouse: %w", err)
	}
	conn, db, err := audit.OpenClickHouse(ch)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(dctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			progress("audit: drop %s: %v", db, err)
		}
	}()

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

	recs := commandRecords(o.Rows)
	progress("audit: publishing %d records to %s", o.Rows, audit.StreamName)
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: js, Log: benchLog()})
	if err != nil {
		return res, err
	}
	pctx, pcancel := context.WithCancel(ctx)
	pdone := make(chan error, 1)
	go func() { pdone <- pub.Run(pctx) }()
	for _, r := range recs {
		if err := pub.Record(ctx, r); err != nil {
			pcancel()
			<-pdone
			return res, fmt.Errorf("publish audit records: %w", err)
		}
	}
	ferr := pub.Flush(ctx)
	pcancel()
	<-pdone
	if ferr != nil {
		return res, fmt.Errorf("publish audit records: %w", ferr)
	}

	progress("audit: Roster, audit.Sink from %s into ClickHouse", audit.StreamName)
	sink, err := audit.NewSink(audit.SinkConfig{JS: js, Log: benchLog().With().Str("component", "auditsink").Logger(), ClickHouse: ch})
	if err != nil {
		return res, err
	}
	stopProf := prof.start("audit")
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan error, 1)
	t0 := time.Now()
	go func() { sdone <- sink.Run(sctx) }()
	deadline := t0.Add(o.Timeout)
	for {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".commands").Scan(&n); err == nil {
			res.Rows = n
		}
		if res.Rows >= uint64(o.Rows) {
			res.Done = true
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.Took = time.Since(t0)
	stopProf()
	scancel()
	if err := <-sdone; err != nil && !errors.Is(err, context.Canceled) {
		progress("audit: sink stopped with %v", err)
	}
	res.Rate = perSecond(int(res.Rows), res.Took)

	progress("audit: baseline, plain batch inserts of the same rows (batches of %d)", auditBatch)
	if err := conn.Exec(ctx, "CREATE TABLE "+db+".commands_baseline AS "+db+".commands"); err != nil {
		return res, fmt.Errorf("baseline table: %w", err)
	}
	t0 = time.Now()
	if err := insertCommands(ctx, conn, db+".commands_baseline", recs); err != nil {
		return res, fmt.Errorf("baseline insert: %w", err)
	}
	res.BaseTook = time.Since(t0)
	res.Baseline = perSecond(len(recs), res.BaseTook)
	return res, nil
}

// commandRecords makes n plausible command records.
func commandRecords(n int) []audit.Command {
	at := time.Now().UTC()
	out := make([]audit.Command, n)
	for i := range out {
		body := fmt.Sprintf(`{"group_id":"g-%06d","actor":"owner","user_ids":["u-%06d"]}`, i%10000, i)
		sum := sha256.Sum256([]byte(body))
		out[i] = audit.Command{
			ID: uuid.NewString(), CommandID: uuid.NewString(), Subject: "roster.cmd.member.invite",
			GroupID: fmt.Sprintf("g-%06d", i%10000), Actor: "owner", Outcome: "accepted", Version: uint64(i/10000 + 2),
			LatencyUS: int64(300 + i%700), ReceivedAt: at.Add(time.Duration(i) * time.Microsecond),
			PayloadHash: hex.EncodeToString(sum[:]), PayloadSize: len(body),
		}
	}
	return out
}

// insertCommands is the baseline: the columns and Go types of the
// commands table (services/internal/audit/tables.go), plain batches.
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
