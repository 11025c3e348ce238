package eventstore

import (
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"

	"github.com/rosterhq/roster/events/jsonlex"
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
	l := lexer{jsonlex.Lexer{Data: data}}
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
	l.Space()
	return ok && l.Pos == len(l.Data)
}

// events reads the events array (not null).
func (l *lexer) events(out *[]events.Event) bool {
	if !l.Consume('[') {
		return false
	}
	evs := make([]events.Event, 0, 1)
	l.Space()
	if !l.Consume(']') {
		for {
			l.Space()
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
					start := l.Pos
					if l.Pos >= len(l.Data) || l.Data[l.Pos] != '{' || !l.skip(0) {
						return false
					}
					e.Data = append([]byte(nil), l.Data[start:l.Pos]...)
					return true
				}
				return false
			}, 10)
			if !ok {
				return false
			}
			evs = append(evs, e)
			l.Space()
			if l.Consume(',') {
				continue
			}
			if l.Consume(']') {
				break
			}
			return false
		}
	}
	*out = evs
	return true
}

// lexer reads JSON tokens from data.
// lexer adds this decoder's readers to the shared strict lexer.
type lexer struct {
	jsonlex.Lexer
}

// object reads an object whose values member reads (called with the key,
// l at the value). A key seen twice gives up: at most n distinct keys.
func (l *lexer) object(member func(key []byte) bool, n int) bool {
	l.Space()
	if !l.Consume('{') {
		return false
	}
	var buf [10][]byte
	seen := buf[:0]
	l.Space()
	if l.Consume('}') {
		return true
	}
	for {
		l.Space()
		key, ok := l.RawString()
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
		l.Space()
		if !l.Consume(':') {
			return false
		}
		l.Space()
		if !member(key) {
			return false
		}
		l.Space()
		if l.Consume(',') {
			continue
		}
		return l.Consume('}')
	}
}

func (l *lexer) str(out *string) bool {
	s, ok := l.RawString()
	*out = string(s)
	return ok
}

func (l *lexer) boolean(out *bool) bool {
	switch {
	case l.Literal("true"):
		*out = true
	case l.Literal("false"):
		*out = false
	default:
		return false
	}
	return true
}

// uint reads a plain unsigned integer (no sign, fraction or exponent; a
// leading zero only alone) that fits in 64 bits.
func (l *lexer) uint(out *uint64) bool {
	start := l.Pos
	for l.Pos < len(l.Data) && l.Data[l.Pos] >= '0' && l.Data[l.Pos] <= '9' {
		l.Pos++
	}
	digits := l.Data[start:l.Pos]
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	if l.Pos < len(l.Data) {
		switch l.Data[l.Pos] {
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
	start := l.Pos
	if _, ok := l.RawString(); !ok {
		return false
	}
	return out.UnmarshalJSON(l.Data[start:l.Pos]) == nil
}

// skip moves past one JSON value, checking it is valid JSON as
// encoding/json's scanner does (strings may hold any byte but controls;
// escapes must be valid). It gives up beyond a modest nesting depth.
func (l *lexer) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	l.Space()
	if l.Pos >= len(l.Data) {
		return false
	}
	switch c := l.Data[l.Pos]; {
	case c == '{':
		l.Pos++
		l.Space()
		if l.Consume('}') {
			return true
		}
		for {
			l.Space()
			if l.Pos >= len(l.Data) || l.Data[l.Pos] != '"' || !l.skipString() {
				return false
			}
			l.Space()
			if !l.Consume(':') || !l.skip(depth+1) {
				return false
			}
			l.Space()
			if l.Consume(',') {
				continue
			}
			return l.Consume('}')
		}
	case c == '[':
		l.Pos++
		l.Space()
		if l.Consume(']') {
			return true
		}
		for {
			if !l.skip(depth + 1) {
				return false
			}
			l.Space()
			if l.Consume(',') {
				continue
			}
			return l.Consume(']')
		}
	case c == '"':
		return l.skipString()
	case c == 't':
		return l.Literal("true")
	case c == 'f':
		return l.Literal("false")
	case c == 'n':
		return l.Literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return l.skipNumber()
	}
	return false
}

func (l *lexer) skipString() bool {
	l.Pos++ // the opening quote
	for l.Pos < len(l.Data) {
		c := l.Data[l.Pos]
		l.Pos++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if l.Pos >= len(l.Data) {
				return false
			}
			e := l.Data[l.Pos]
			l.Pos++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(l.Data)-l.Pos < 4 {
					return false
				}
				for _, h := range l.Data[l.Pos : l.Pos+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				l.Pos += 4
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
	l.Consume('-')
	digits := func() int {
		n := 0
		for l.Pos < len(l.Data) && l.Data[l.Pos] >= '0' && l.Data[l.Pos] <= '9' {
			l.Pos++
			n++
		}
		return n
	}
	if l.Consume('0') {
		// no more integer digits after a leading zero
	} else if digits() == 0 {
		return false
	}
	if l.Consume('.') && digits() == 0 {
		return false
	}
	if l.Consume('e') || l.Consume('E') {
		if !l.Consume('+') {
			l.Consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
