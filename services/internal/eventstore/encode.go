package eventstore

import (
	"encoding/json"
	"strconv"

	"github.com/rosterhq/roster/events"
)

// Encoding a commit on the append path without reflection. Every command
// encodes its commit once (Append) and, in roster-groups, its events again
// in the reply: after goccy that was still about a tenth of roster-groups'
// CPU per command (docs/performance.md, issue 14, second session). The
// fast path writes exactly encoding/json's bytes for what the command side
// puts in a commit: ids and names that need no escaping (ids are validated
// subject-safe), data that is already compact, valid JSON with nothing
// encoding/json would escape (the command side encodes it with
// json.Marshal), times in years 0 to 9999. Anything else (a string to
// escape, data to compact or refuse, a time encoding/json refuses) makes
// the caller encode the whole value with encoding/json, which then writes
// the bytes, or the error, it always wrote (FuzzEncodeCommit).

// EncodeCommit is the body Append stores: the bytes json.Marshal writes
// for c.
func EncodeCommit(c events.Commit) ([]byte, error) {
	if b, ok := appendCommit(make([]byte, 0, commitSize(&c)), &c); ok {
		return b, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, errEncode(err)
	}
	return b, nil
}

func errEncode(err error) error { return &encodeError{err} }

type encodeError struct{ err error }

func (e *encodeError) Error() string { return "encode commit: " + e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// commitSize is an upper bound of c's encoding on the fast path, so that
// the buffer is allocated once.
func commitSize(c *events.Commit) int {
	n := 96 + len(c.CommandID) + len(c.Command) + len(c.GroupID)
	for i := range c.Events {
		n += EventSize(&c.Events[i])
	}
	return n
}

// EventSize is an upper bound of e's encoding by AppendEvents' fast path.
func EventSize(e *events.Event) int {
	return 192 + len(e.ID) + len(e.Type) + len(e.GroupID) + len(e.CommandID) + len(e.CorrelationID) + len(e.Actor) + len(e.Data)
}

func appendCommit(b []byte, c *events.Commit) ([]byte, bool) {
	var ok bool
	b = append(b, `{"command_id":`...)
	if b, ok = appendPlainString(b, c.CommandID); !ok {
		return b, false
	}
	if c.GeneratedCommandID {
		b = append(b, `,"generated_command_id":true`...)
	}
	b = append(b, `,"command":`...)
	if b, ok = appendPlainString(b, c.Command); !ok {
		return b, false
	}
	b = append(b, `,"group_id":`...)
	if b, ok = appendPlainString(b, c.GroupID); !ok {
		return b, false
	}
	b = append(b, `,"events":`...)
	if b, ok = AppendEvents(b, c.Events); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// AppendEvents appends evs as encoding/json encodes a []events.Event
// (null for nil). ok is false when a value is off the fast path described
// above: the caller then encodes its whole value with encoding/json.
func AppendEvents(b []byte, evs []events.Event) ([]byte, bool) {
	if evs == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendEvent(b, &evs[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

func appendEvent(b []byte, e *events.Event) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	if b, ok = appendPlainString(b, e.ID); !ok {
		return b, false
	}
	b = append(b, `,"type":`...)
	if b, ok = appendPlainString(b, string(e.Type)); !ok {
		return b, false
	}
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"group_id":`...)
	if b, ok = appendPlainString(b, e.GroupID); !ok {
		return b, false
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, e.Version, 10)
	b = append(b, `,"occurred_at":"`...)
	// time.Time's MarshalJSON is this between quotes, and fails where
	// this fails (a year outside 0-9999).
	t, err := e.OccurredAt.AppendText(b)
	if err != nil {
		return b, false
	}
	b = append(t, `","command_id":`...)
	if b, ok = appendPlainString(b, e.CommandID); !ok {
		return b, false
	}
	if e.CorrelationID != "" {
		b = append(b, `,"correlation_id":`...)
		if b, ok = appendPlainString(b, e.CorrelationID); !ok {
			return b, false
		}
	}
	b = append(b, `,"actor":`...)
	if b, ok = appendPlainString(b, e.Actor); !ok {
		return b, false
	}
	b = append(b, `,"data":`...)
	if e.Data == nil {
		b = append(b, "null"...) // json.RawMessage's MarshalJSON of nil
	} else {
		if !canonicalJSON(e.Data) {
			return b, false
		}
		b = append(b, e.Data...)
	}
	return append(b, '}'), true
}

// appendPlainString appends s quoted when encoding/json writes it without
// any escape: printable ASCII other than '"', '\\' and the HTML
// characters it escapes.
func appendPlainString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// plain holds the bytes appendPlainString writes as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// canonicalJSON reports whether encoding/json writes raw, a
// json.RawMessage, as it is: valid JSON without whitespace between tokens
// and without a byte it escapes in strings (<, >, & and the first byte of
// U+2028 and U+2029). It is one pass of a strict parser, several times
// cheaper than json.Valid; on false (which includes anything nested deeper
// than maxCanonicalDepth) encoding/json decides.
func canonicalJSON(raw []byte) bool {
	p := canonical{b: raw}
	return p.value(0) && p.i == len(raw)
}

const maxCanonicalDepth = 64

type canonical struct {
	b []byte
	i int
}

func (p *canonical) next(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *canonical) value(depth int) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch p.b[p.i] {
	case '{':
		if depth >= maxCanonicalDepth {
			return false
		}
		p.i++
		if p.next('}') {
			return true
		}
		for {
			if !p.str() || !p.next(':') || !p.value(depth+1) {
				return false
			}
			if !p.next(',') {
				return p.next('}')
			}
		}
	case '[':
		if depth >= maxCanonicalDepth {
			return false
		}
		p.i++
		if p.next(']') {
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			if !p.next(',') {
				return p.next(']')
			}
		}
	case '"':
		return p.str()
	case 't':
		return p.word("true")
	case 'f':
		return p.word("false")
	case 'n':
		return p.word("null")
	}
	return p.number()
}

func (p *canonical) word(w string) bool {
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *canonical) number() bool {
	p.next('-')
	if !p.next('0') && !p.digits() {
		return false
	}
	if p.next('.') && !p.digits() {
		return false
	}
	if p.next('e') || p.next('E') {
		if !p.next('+') {
			p.next('-')
		}
		return p.digits()
	}
	return true
}

func (p *canonical) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

func (p *canonical) str() bool {
	if !p.next('"') {
		return false
	}
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return false
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if len(p.b)-p.i < 6 {
					return false
				}
				for _, h := range p.b[p.i+2 : p.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				p.i += 6
			default:
				return false
			}
		case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0xe2:
			return false
		default:
			p.i++
		}
	}
	return false
}
