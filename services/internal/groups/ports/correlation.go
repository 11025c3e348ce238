package ports

import "github.com/rosterhq/roster/events"

// CorrelationHeader carries a caller's correlation id into the events.
const CorrelationHeader = "Roster-Correlation-Id"

// MaxCorrelationIDLen bounds the Roster-Correlation-Id header. The id is
// copied into every event of the commit (a 1,000-user invite holds 1,000
// copies), so it must stay short.
const MaxCorrelationIDLen = 128

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
