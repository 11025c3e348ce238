package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

// InsertTimeout bounds one table's insert.
const InsertTimeout = 30 * time.Second

// Store is the app.RecordStore on ClickHouse. Its tables are
// ReplacingMergeTree ordered by keys that end in the record id, so a
// record inserted again collapses into one row on merge, and every read
// (Reader, the documented queries) uses FINAL to collapse copies not yet
// merged.
type Store struct {
	conn driver.Conn
	db   string
	cfg  Config
	log  zerolog.Logger
}

// NewStore writes through conn to database db; cfg is what Migrate needs
// when the tables disappear under a running sink.
func NewStore(conn driver.Conn, db string, cfg Config, log zerolog.Logger) *Store {
	return &Store{conn: conn, db: db, cfg: cfg, log: log}
}

// Insert implements app.RecordStore: one batch per table, in the order
// commands, events, delivery_attempts, endpoint_changes. A row the driver
// rejects, or an exception ClickHouse will repeat, wraps app.ErrRefused;
// anything else (connection lost, server busy) is transient. When the
// tables or the database are gone it re-migrates before returning the
// (transient) error, so the retry finds them.
func (s *Store) Insert(ctx context.Context, batch []record.Record) error {
	if len(batch) == 0 {
		return nil
	}
	byTable := make(map[*table]rows, 2)
	for _, r := range batch {
		t := tableOf[r.AuditKind()]
		if t == nil {
			return refused{record.Malformed("unknown record type %T", r)}
		}
		rs := byTable[t]
		if rs == nil {
			rs = t.rows(len(batch))
			byTable[t] = rs
		}
		if !rs.add(r) {
			return refused{record.Malformed("unknown record type %T", r)}
		}
	}
	for _, t := range allTables {
		rs := byTable[t]
		if rs == nil {
			continue
		}
		if err := s.insertTable(ctx, t, rs); err != nil {
			if permanent(err) {
				return refused{fmt.Errorf("insert into %s: %w", t.name, err)}
			}
			if needsMigration(err) {
				if _, merr := Migrate(ctx, s.cfg); merr != nil {
					s.log.Warn().Err(merr).Msg("re-migrate failed")
				}
			}
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	return nil
}

func (s *Store) insertTable(ctx context.Context, t *table, rs rows) error {
	ictx, cancel := context.WithTimeout(ctx, InsertTimeout)
	defer cancel()
	b, err := s.conn.PrepareBatch(ictx, t.insert(s.db))
	if err != nil {
		return err
	}
	defer b.Close()
	if err := rs.appendTo(b); err != nil {
		return errRowRejected{err}
	}
	return b.Send()
}

// refused is an error the store will repeat: errors.Is(err, app.ErrRefused)
// holds, and its text is the cause's alone (it becomes the dead letter's
// reason).
type refused struct{ err error }

func (e refused) Error() string        { return e.err.Error() }
func (e refused) Unwrap() error        { return e.err }
func (e refused) Is(target error) bool { return target == app.ErrRefused }
