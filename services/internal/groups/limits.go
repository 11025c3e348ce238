package groups

import (
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// MaxCorrelationIDLen bounds the Roster-Correlation-Id header. The id is
// copied into every event of the commit (a 1,000-user invite holds 1,000
// copies), so it must stay short.
const MaxCorrelationIDLen = 128

// DefaultMaxHeaderBytes bounds the total size of a request's headers
// (names and values): Roster reads one header, a client has no reason to
// send kilobytes of them.
const DefaultMaxHeaderBytes = 4 << 10

// ValidateCorrelationID accepts "" (the command id stands in) or 1 to
// MaxCorrelationIDLen bytes of A-Z a-z 0-9 . _ : - : enough for UUIDs,
// W3C trace ids and "service:request-id" forms, and safe in a header, a
// log line, a ClickHouse row and a NATS subject (no space, wildcard or
// control character).
func ValidateCorrelationID(id string) error {
	if len(id) > MaxCorrelationIDLen {
		return events.Errorf(events.CodeInvalidArgument, "%s header: %d bytes, at most %d", CorrelationHeader, len(id), MaxCorrelationIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return events.Errorf(events.CodeInvalidArgument, "%s header: byte %d is %q; allowed: A-Z a-z 0-9 . _ : -", CorrelationHeader, i, c)
		}
	}
	return nil
}

// headerBytes is the size of h as its names and values.
func headerBytes(h map[string][]string) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF, as on the wire
		}
	}
	return n
}

// errCommitTooLarge is the answer to a command whose commit would exceed
// what NATS accepts in one message: definite (the same command will never
// fit), so invalid_argument and not unavailable, which callers retry.
func errCommitTooLarge(size, limit int64) error {
	if size > 0 {
		return events.Errorf(events.CodeInvalidArgument, "commit too large: %d bytes, the server accepts at most %d in one message; split the command", size, limit)
	}
	return events.Errorf(events.CodeInvalidArgument, "commit too large: the server accepts at most %d bytes in one message; split the command", limit)
}

// commitOverhead bounds the bytes a commit message adds to its events'
// variable fields: JSON field names and punctuation, the commit's own
// fields and the Roster-* headers. perEventOverhead bounds one event's
// fixed fields (names, schema version, version, timestamp, id).
const (
	commitOverhead   = 1 << 10
	perEventOverhead = 384
)

// checkCommitSize refuses a commit that cannot be one NATS message. The
// estimate is an upper bound (ids, actors and correlation ids are
// validated subject-safe, so JSON never escapes them; Data is already
// JSON), so only a commit near the limit pays for an exact encoding.
func checkCommitSize(c events.Commit, maxPayload int64) error {
	if maxPayload <= 0 {
		return nil
	}
	est := int64(commitOverhead + len(c.CommandID) + len(c.Command) + len(c.GroupID))
	for _, ev := range c.Events {
		est += int64(perEventOverhead + len(ev.Type) + len(ev.GroupID) + len(ev.CommandID) + len(ev.CorrelationID) + len(ev.Actor) + len(ev.Data))
	}
	if est <= maxPayload {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil // the append reports it
	}
	// The headers the event store adds (Roster-* and the audit headers,
	// about 300 bytes) are well under commitOverhead/2.
	if size := int64(len(b)) + commitOverhead/2; size > maxPayload {
		return errCommitTooLarge(size, maxPayload)
	}
	return nil
}

// isTooLarge reports whether an append failed because the message is
// larger than the connection (nats.ErrMaxPayload, checked by the client
// before sending) or the stream (max_msg_size, JetStream error 10054)
// accepts.
func isTooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}
