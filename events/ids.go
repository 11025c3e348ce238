package events

import "fmt"

// MaxIDLen is the longest group, user, command or endpoint id accepted.
const MaxIDLen = 64

// idChar is the documented shape of every id Roster accepts: ASCII
// letters, digits, '_' and '-' (the JSON Schemas' ^[A-Za-z0-9_-]{1,64}$).
// Such an id is always a single NATS subject token: it never holds '.',
// '*', '>' or whitespace.
func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func subjectSafe(id string) bool {
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return true
}

// ValidateID checks that id is a non-empty, subject-safe token of at most
// MaxIDLen bytes. field names the offending request field in the error.
func ValidateID(field, id string) error {
	switch {
	case id == "":
		return Errorf(CodeInvalidArgument, "%s: must not be empty", field)
	case len(id) > MaxIDLen:
		return Errorf(CodeInvalidArgument, "%s: longer than %d bytes", field, MaxIDLen)
	case !subjectSafe(id):
		return Errorf(CodeInvalidArgument, "%s: %q is not subject-safe (allowed: A-Z a-z 0-9 _ -)", field, id)
	}
	return nil
}

// ValidateIDs validates every id in ids and rejects duplicates.
func ValidateIDs(field string, ids []string) error {
	seen := make(map[string]struct{}, len(ids))
	for i, id := range ids {
		if id == "" || len(id) > MaxIDLen || !subjectSafe(id) {
			// Only a failure pays for the indexed field name.
			return ValidateID(fmt.Sprintf("%s[%d]", field, i), id)
		}
		if _, dup := seen[id]; dup {
			return Errorf(CodeInvalidArgument, "%s[%d]: duplicate id %q", field, i, id)
		}
		seen[id] = struct{}{}
	}
	return nil
}
