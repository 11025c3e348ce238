package membership

import (
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"
)

// The commit decoding fast path (ADR 0035: JSON decoding of commits was a
// third of the projector's own CPU in a rebuild).
//
// Every commit in ROSTER_EVENTS is written by the event store as
// json.Marshal of events.Commit: keys spelled exactly as the struct tags,
// each once, ids and names in plain ASCII, event data a JSON object.
// fastDecodeCommit parses exactly that shape in one pass, without
// reflection. On anything else (an unknown key or one in another case, a key
// twice, null, an escape or a non-ASCII byte in a string, a number that is
// not a plain unsigned integer, data that is not an object, invalid JSON,
// trailing bytes) it gives up, and decodeCommit uses json.Unmarshal, which
// then decides. So it never accepts what encoding/json rejects, and decodes
// to the same value: FuzzFastDecodeCommit checks both, and
// TestFastDecodeTakesStoreOutput that it does not give up on what the store
// writes.

// fastDecodeCommit decodes data into c; false means "give up" (c is then
// meaningless).
func fastDecodeCommit(data []byte, c *events.Commit) bool {
	l := lexer{data: data}
	ok := l.object(func(key []byte) bool {
		switch string(key) {
		case "command_id":
			return l.str(&c.CommandID)
		case "generated_command_id":
			return l.boolean(&c.GeneratedCommandID)
		case "command":
			return l.str(&c.Command)
		case "group_id":
			return l.str(&c.GroupID)
		case "events":
			return l.events(&c.Events)
		}
		return false
	}, 5)
	l.space()
	return ok && l.pos == len(l.data)
}

// events reads the events array (not null).
func (l *lexer) events(out *[]events.Event) bool {
	if !l.consume('[') {
		return false
	}
	evs := make([]events.Event, 0, 1)
	l.space()
	if !l.consume(']') {
		for {
			l.space()
			var e events.Event
			ok := l.object(func(key []byte) bool {
				switch string(key) {
				case "id":
					return l.str(&e.ID)
				case "type":
					var s string
					ok := l.str(&s)
					e.Type = events.Type(s)
					return ok
				case "schema_version":
					var v uint64
					ok := l.uint(&v) && v <= 1<<31-1
					e.SchemaVersion = int(v)
					return ok
				case "group_id":
					return l.str(&e.GroupID)
				case "version":
					return l.uint(&e.Version)
				case "occurred_at":
					return l.time(&e.OccurredAt)
				case "command_id":
					return l.str(&e.CommandID)
				case "correlation_id":
					return l.str(&e.CorrelationID)
				case "actor":
					return l.str(&e.Actor)
				case "data":
					start := l.pos
					if l.pos >= len(l.data) || l.data[l.pos] != '{' || !l.skip(0) {
						return false
					}
					e.Data = append([]byte(nil), l.data[start:l.pos]...)
					return true
				}
				return false
			}, 10)
			if !ok {
				return false
			}
			evs = append(evs, e)
			l.space()
			if l.consume(',') {
				continue
			}
			if l.consume(']') {
				break
			}
			return false
		}
	}
	*out = evs
	return true
}

// lexer reads JSON tokens from data.
type lexer struct {
	data []byte
	pos  int
}

// object reads an object whose values member reads (called with the key,
// l at the value). A key seen twice gives up: at most n distinct keys.
func (l *lexer) object(member func(key []byte) bool, n int) bool {
	l.space()
	if !l.consume('{') {
		return false
	}
	var buf [10][]byte
	seen := buf[:0]
	l.space()
	if l.consume('}') {
		return true
	}
	for {
		l.space()
		key, ok := l.rawString()
		if !ok {
			return false
		}
		for _, s := range seen {
			if string(s) == string(key) {
				return false
			}
		}
		if len(seen) == n || len(seen) == len(buf) {
			return false
		}
		seen = append(seen, key)
		l.space()
		if !l.consume(':') {
			return false
		}
		l.space()
		if !member(key) {
			return false
		}
		l.space()
		if l.consume(',') {
			continue
		}
		return l.consume('}')
	}
}

func (l *lexer) space() {
	for l.pos < len(l.data) {
		switch l.data[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
		default:
			return
		}
	}
}

func (l *lexer) consume(c byte) bool {
	if l.pos < len(l.data) && l.data[l.pos] == c {
		l.pos++
		return true
	}
	return false
}

// rawString reads a string of printable ASCII without escapes and returns
// its content (aliasing data).
func (l *lexer) rawString() ([]byte, bool) {
	if !l.consume('"') {
		return nil, false
	}
	start := l.pos
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		switch {
		case c == '"':
			l.pos++
			return l.data[start : l.pos-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		l.pos++
	}
	return nil, false
}

func (l *lexer) str(out *string) bool {
	s, ok := l.rawString()
	*out = string(s)
	return ok
}

func (l *lexer) boolean(out *bool) bool {
	switch {
	case l.literal("true"):
		*out = true
	case l.literal("false"):
		*out = false
	default:
		return false
	}
	return true
}

func (l *lexer) literal(lit string) bool {
	if len(l.data)-l.pos >= len(lit) && string(l.data[l.pos:l.pos+len(lit)]) == lit {
		l.pos += len(lit)
		return true
	}
	return false
}

// uint reads a plain unsigned integer (no sign, fraction or exponent; a
// leading zero only alone) that fits in 64 bits.
func (l *lexer) uint(out *uint64) bool {
	start := l.pos
	for l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '9' {
		l.pos++
	}
	digits := l.data[start:l.pos]
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	if l.pos < len(l.data) {
		switch l.data[l.pos] {
		case '.', 'e', 'E':
			return false
		}
	}
	v, err := strconv.ParseUint(string(digits), 10, 64)
	*out = v
	return err == nil
}

// time reads a time as encoding/json does: time.Time's own UnmarshalJSON
// on the quoted string.
func (l *lexer) time(out *time.Time) bool {
	start := l.pos
	if _, ok := l.rawString(); !ok {
		return false
	}
	return out.UnmarshalJSON(l.data[start:l.pos]) == nil
}

// skip moves past one JSON value, checking it is valid JSON as
// encoding/json's scanner does (strings may hold any byte but controls;
// escapes must be valid). It gives up beyond a modest nesting depth.
func (l *lexer) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	l.space()
	if l.pos >= len(l.data) {
		return false
	}
	switch c := l.data[l.pos]; {
	case c == '{':
		l.pos++
		l.space()
		if l.consume('}') {
			return true
		}
		for {
			l.space()
			if l.pos >= len(l.data) || l.data[l.pos] != '"' || !l.skipString() {
				return false
			}
			l.space()
			if !l.consume(':') || !l.skip(depth+1) {
				return false
			}
			l.space()
			if l.consume(',') {
				continue
			}
			return l.consume('}')
		}
	case c == '[':
		l.pos++
		l.space()
		if l.consume(']') {
			return true
		}
		for {
			if !l.skip(depth + 1) {
				return false
			}
			l.space()
			if l.consume(',') {
				continue
			}
			return l.consume(']')
		}
	case c == '"':
		return l.skipString()
	case c == 't':
		return l.literal("true")
	case c == 'f':
		return l.literal("false")
	case c == 'n':
		return l.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return l.skipNumber()
	}
	return false
}

func (l *lexer) skipString() bool {
	l.pos++ // the opening quote
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if l.pos >= len(l.data) {
				return false
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(l.data)-l.pos < 4 {
					return false
				}
				for _, h := range l.data[l.pos : l.pos+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				l.pos += 4
			default:
				return false
			}
		}
	}
	return false
}

// skipNumber checks the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (l *lexer) skipNumber() bool {
	l.consume('-')
	digits := func() int {
		n := 0
		for l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '9' {
			l.pos++
			n++
		}
		return n
	}
	if l.consume('0') {
		// no more integer digits after a leading zero
	} else if digits() == 0 {
		return false
	}
	if l.consume('.') && digits() == 0 {
		return false
	}
	if l.consume('e') || l.consume('E') {
		if !l.consume('+') {
			l.consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
