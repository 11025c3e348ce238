// Package audittest gives tests outside the audit package a ClickHouse
// database of their own on the server the suite runs against.
package audittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/rosterhq/roster/services/internal/audit"
)

// DSN names a fresh ClickHouse database (prefix plus random hex) on the
// server of ROSTER_CLICKHOUSE_DSN (audit.DefaultDSN when unset; the
// suite's scripts/clickhouse starts one), dropped when the test ends.
// Whoever opens it (the audit sink, the migrator) creates the database.
func DSN(t testing.TB, prefix string) (dsn, db string) {
	t.Helper()
	base := os.Getenv("ROSTER_CLICKHOUSE_DSN")
	if base == "" {
		base = audit.DefaultDSN
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ROSTER_CLICKHOUSE_DSN: %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	db = prefix + hex.EncodeToString(b)
	u.Path = "/" + db
	t.Cleanup(func() {
		conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: base, Database: "default"})
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`")
	})
	return u.String(), db
}
