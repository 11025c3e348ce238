package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// testClickHouse returns a config for a database of the test's own (dropped
// when the test ends) on the ClickHouse server of ROSTER_CLICKHOUSE_DSN or
// DefaultDSN. scripts/clickhouse starts one; the test fails without it.
func NewTestClickHouse(t testing.TB) ClickHouseConfig {
	t.Helper()
	dsn := os.Getenv("ROSTER_CLICKHOUSE_DSN")
	if dsn == "" {
		dsn = DefaultDSN
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	cfg := ClickHouseConfig{DSN: dsn, Database: "roster_test_" + name + "_" + hex.EncodeToString(b)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Migrate(ctx, cfg); err != nil {
		t.Fatalf("ClickHouse at %s is needed (run scripts/clickhouse start): %v", dsn, err)
	}
	t.Cleanup(func() {
		conn, _, err := OpenClickHouse(ClickHouseConfig{DSN: dsn, Database: "default"})
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+"`"+cfg.Database+"`")
	})
	return cfg
}

func OpenTestClickHouse(t testing.TB, cfg ClickHouseConfig) driver.Conn {
	t.Helper()
	conn, _, err := OpenClickHouse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// finalCount counts the rows a reader sees (FINAL: copies collapsed), and
// the distinct ids among them.
func finalCount(ctx context.Context, conn driver.Conn, db, table string) (rows, ids uint64, err error) {
	err = conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), uniqExact(id) FROM %s.%s FINAL", "`"+db+"`", table)).Scan(&rows, &ids)
	return rows, ids, err
}

// waitRows polls until table holds exactly want rows (FINAL) and no id
// twice.
func WaitRows(t testing.TB, conn driver.Conn, db, table string, want uint64, timeout time.Duration) {
	t.Helper()
	natstest.Eventually(t, timeout, func() error {
		rows, ids, err := finalCount(context.Background(), conn, db, table)
		if err != nil {
			return err
		}
		if rows != want || ids != want {
			return fmt.Errorf("%s: want %d rows, have %d rows with %d distinct ids", table, want, rows, ids)
		}
		return nil
	})
}

// runSink starts a sink until the test ends (or stop is called) and returns
// stop, which waits for Run to return.
func StartSink(t testing.TB, js jetstream.JetStream, cfg SinkConfig) (stop func()) {
	t.Helper()
	cfg.JS = js
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 50 * time.Millisecond
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	s, err := NewSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("sink: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("sink did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func StartPublisher(t testing.TB, js jetstream.JetStream) *Publisher {
	t.Helper()
	p, err := NewPublisher(PublisherConfig{JS: js, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func FlushPublisher(t testing.TB, p *Publisher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// MustRecord hands r to p, failing the test if p refuses it.
func MustRecord(t testing.TB, p *Publisher, r Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Record(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// ident quotes a database name for ClickHouse.
func ident(db string) string { return "`" + db + "`" }

// sinkMetrics returns the sink collectors on reg: a sink given reg as its
// Metrics shares them.
func sinkMetrics(t testing.TB, reg prometheus.Registerer) *app.SinkMetrics {
	t.Helper()
	m, err := app.NewSinkMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
