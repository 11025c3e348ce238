package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/schemas"
)

// DefaultDatabase is the audit trail's database (public contract).
const DefaultDatabase = "roster"

// DefaultDSN is where the dev stack and tests find ClickHouse
// (scripts/clickhouse starts it there).
const DefaultDSN = "clickhouse://127.0.0.1:9000"

// ClickHouseConfig says where the trail lives.
type ClickHouseConfig struct {
	// DSN in clickhouse-go's form, e.g. clickhouse://user:pass@host:9000/roster.
	// Its database, when present, is the trail's database.
	DSN string
	// Database overrides the DSN's database (tests use their own).
	Database string
	// DialTimeout bounds connecting (default 5s).
	DialTimeout time.Duration
}

func (c *ClickHouseConfig) setDefaults() {
	if c.DSN == "" {
		c.DSN = DefaultDSN
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
}

// options parses the DSN and settles the database name.
func (c ClickHouseConfig) options() (*clickhouse.Options, string, error) {
	opts, err := clickhouse.ParseDSN(c.DSN)
	if err != nil {
		// The DSN may carry a password: never echo it.
		return nil, "", fmt.Errorf("clickhouse dsn: %w", errors.New("cannot parse (want clickhouse://[user[:password]@]host:port[/database])"))
	}
	db := c.Database
	if db == "" {
		db = opts.Auth.Database
	}
	if db == "" {
		db = DefaultDatabase
	}
	if err := validDatabase(db); err != nil {
		return nil, "", err
	}
	opts.DialTimeout = c.DialTimeout
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 4
	}
	return opts, db, nil
}

func validDatabase(db string) error {
	for _, r := range db {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("clickhouse database %q: only letters, digits and _", db)
		}
	}
	if db == "" {
		return errors.New("clickhouse database: empty")
	}
	return nil
}

// OpenClickHouse connects to the trail's database (which must exist: run
// Migrate first) and returns the connection and the database name.
// Connections are made lazily, so this succeeds while ClickHouse is down.
func OpenClickHouse(cfg ClickHouseConfig) (driver.Conn, string, error) {
	cfg.setDefaults()
	opts, db, err := cfg.options()
	if err != nil {
		return nil, "", err
	}
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, "", fmt.Errorf("clickhouse: %w", err)
	}
	return conn, db, nil
}

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
func Migrate(ctx context.Context, cfg ClickHouseConfig) (MigrationResult, error) {
	cfg.setDefaults()
	opts, db, err := cfg.options()
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
	aconn, err := clickhouse.Open(&admin)
	if err != nil {
		return res, fmt.Errorf("clickhouse: %w", err)
	}
	defer aconn.Close()
	if err := aconn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db)); err != nil {
		return res, fmt.Errorf("create database %s: %w", db, err)
	}
	opts.Auth.Database = db
	conn, err := clickhouse.Open(opts)
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
	var ex *clickhouse.Exception
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

// Transient ClickHouse exception codes: the same insert may succeed later.
var transientCodes = map[int32]bool{
	3:   true, // UNEXPECTED_END_OF_FILE
	32:  true, // ATTEMPT_TO_READ_AFTER_EOF
	60:  true, // UNKNOWN_TABLE: dropped under us; the sink re-migrates
	81:  true, // UNKNOWN_DATABASE: same
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	225: true, // NO_ZOOKEEPER
	236: true, // ABORTED
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS
	394: true, // QUERY_WAS_CANCELLED
	999: true, // KEEPER_EXCEPTION
}

// errRowRejected wraps a failure to append one row to a batch: the row
// itself is wrong, retrying cannot help.
type errRowRejected struct{ err error }

func (e errRowRejected) Error() string { return "row rejected: " + e.err.Error() }
func (e errRowRejected) Unwrap() error { return e.err }

// permanent reports whether err means ClickHouse will never accept the
// rows as they are (as opposed to being unreachable or busy).
func permanent(err error) bool {
	var rr errRowRejected
	if errors.As(err, &rr) {
		return true
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return !transientCodes[ex.Code]
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return false
	}
	// Anything else (connection refused, reset, EOF, pool exhausted) is
	// the connection's fault, not the rows'.
	return false
}

// needsMigration reports whether err says the tables or database are gone.
func needsMigration(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && (ex.Code == 60 || ex.Code == 81)
}
