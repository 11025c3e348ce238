package clickhouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/adapters/clickhouse"
	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/app/storetest"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
)

// storeAndReader is the ClickHouse store with its reader on one database.
type storeAndReader struct {
	*clickhouse.Store
	clickhouse.Reader
}

var _ app.TrailReader = clickhouse.Reader{}

// TestStoreContract runs the record-store contract against the real
// ClickHouse server, one fresh database per case.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		dsn, _ := audittest.DSN(t, "roster_test_store_")
		cfg := clickhouse.Config{DSN: dsn}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := clickhouse.Migrate(ctx, cfg); err != nil {
			t.Fatalf("ClickHouse is needed (scripts/clickhouse start): %v", err)
		}
		conn, db, err := clickhouse.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return storeAndReader{clickhouse.NewStore(conn, db, cfg, zerolog.Nop()), clickhouse.Reader{Conn: conn, DB: db}}
	})
}
