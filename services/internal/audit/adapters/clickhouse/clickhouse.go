// Package clickhouse is the audit trail's store in ClickHouse (database
// roster; tables commands, events, delivery_attempts, endpoint_changes, all
// ReplacingMergeTree read with FINAL): the app.RecordStore and
// app.TrailReader adapters, the connection settings and the migrations.
package clickhouse

import (
	"errors"
	"fmt"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultDatabase is the audit trail's database (public contract).
const DefaultDatabase = "roster"

// DefaultDSN is where the dev stack and tests find ClickHouse
// (scripts/clickhouse starts it there).
const DefaultDSN = "clickhouse://127.0.0.1:9000"

// Config says where the trail lives.
type Config struct {
	// DSN in clickhouse-go's form, e.g. clickhouse://user:pass@host:9000/roster.
	// Its database, when present, is the trail's database.
	DSN string
	// Database overrides the DSN's database (tests use their own).
	Database string
	// DialTimeout bounds connecting (default 5s).
	DialTimeout time.Duration
}

func (c *Config) SetDefaults() {
	if c.DSN == "" {
		c.DSN = DefaultDSN
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
}

// Options parses the DSN and settles the database name.
func (c Config) Options() (*chgo.Options, string, error) {
	opts, err := chgo.ParseDSN(c.DSN)
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

// Open connects to the trail's database (which must exist: run
// Migrate first) and returns the connection and the database name.
// Connections are made lazily, so this succeeds while ClickHouse is down.
func Open(cfg Config) (driver.Conn, string, error) {
	cfg.SetDefaults()
	opts, db, err := cfg.Options()
	if err != nil {
		return nil, "", err
	}
	opts.Auth.Database = db
	conn, err := chgo.Open(opts)
	if err != nil {
		return nil, "", fmt.Errorf("clickhouse: %w", err)
	}
	return conn, db, nil
}
