package clickhouse

import (
	"errors"
	"net"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
)

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
	var ex *chgo.Exception
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
	var ex *chgo.Exception
	return errors.As(err, &ex) && (ex.Code == 60 || ex.Code == 81)
}
