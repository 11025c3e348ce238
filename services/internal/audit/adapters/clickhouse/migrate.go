package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/schemas"
)

// MigrationResult lists what Migrate did.
type MigrationResult struct {
	Database string
	Applied  []int // versions applied now
	Present  []int // versions found already applied
}

// Migrate creates the database when missing and applies every DDL file of
// schemas.ClickHouseMigrations not yet recorded in its schema_migrations
// table. Idempotent and safe to run concurrently: the DDL is written with
// IF NOT EXISTS, so a file two migrators both apply lands once.
func Migrate(ctx context.Context, cfg Config) (MigrationResult, error) {
	cfg.SetDefaults()
	opts, db, err := cfg.Options()
	if err != nil {
		return MigrationResult{}, err
	}
	res := MigrationResult{Database: db}
	migrations, err := schemas.ClickHouseMigrations()
	if err != nil {
		return res, err
	}
	// The session's database must exist at handshake: create it from the
	// server's default database first.
	admin := *opts
	admin.Auth.Database = "default"
	aconn, err := chgo.Open(&admin)
	if err != nil {
		return res, fmt.Errorf("clickhouse: %w", err)
	}
	defer aconn.Close()
	if err := aconn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db)); err != nil {
		return res, fmt.Errorf("create database %s: %w", db, err)
	}
	opts.Auth.Database = db
	conn, err := chgo.Open(opts)
	if err != nil {
		return res, fmt.Errorf("clickhouse: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree() ORDER BY version`); err != nil {
		return res, fmt.Errorf("schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT toUInt32(version) FROM schema_migrations")
	if err != nil {
		return res, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return res, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if applied[m.Version] {
			res.Present = append(res.Present, m.Version)
			continue
		}
		for i, stmt := range m.Statements() {
			if err := conn.Exec(ctx, stmt); err != nil && !columnAdded(stmt, err) {
				return res, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := recordMigration(ctx, conn, m); err != nil {
			return res, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		res.Applied = append(res.Applied, m.Version)
	}
	return res, nil
}

// columnAdded reports whether err is ADD COLUMN finding its column present
// (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS): another migrator
// applied the same file first, so the statement's effect is there.
func columnAdded(stmt string, err error) bool {
	var ex *chgo.Exception
	return errors.As(err, &ex) && ex.Code == 44 && strings.Contains(strings.ToUpper(stmt), "ADD COLUMN")
}

func recordMigration(ctx context.Context, conn driver.Conn, m schemas.Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Append(uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
		return err
	}
	return b.Send()
}
