package jsonx

import (
	"encoding/json"
	"strconv"

	"github.com/rosterhq/roster/events"
)

// AppendEvent appends ev as json.Marshal writes it, without reflection,
// or reports false when it cannot be sure to (the caller then uses
// json.Marshal, which decides; the fuzz targets of its callers hold the
// two to the same bytes). It is on every command's path (the commit
// roster-groups stores and its reply, ADR 0114) and on every delivery's
// twice (the job the fan-out stores and the request body, ADR 0115).
func AppendEvent(b []byte, ev *events.Event) ([]byte, bool) {
	ok := true
	str := func(name, s string) {
		if ok {
			b = append(b, name...)
			b, ok = AppendVerbatim(b, s)
		}
	}
	b = append(b, '{')
	str(`"id":`, ev.ID)
	str(`,"type":`, string(ev.Type))
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(ev.SchemaVersion), 10)
	str(`,"group_id":`, ev.GroupID)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, ev.Version, 10)
	if ok {
		b = append(b, `,"occurred_at":`...)
		b, ok = AppendTime(b, ev.OccurredAt)
	}
	str(`,"command_id":`, ev.CommandID)
	if ev.CorrelationID != "" {
		str(`,"correlation_id":`, ev.CorrelationID)
	}
	str(`,"actor":`, ev.Actor)
	if !ok {
		return b, false
	}
	b = append(b, `,"data":`...)
	if b, ok = AppendRaw(b, ev.Data); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// EventSize is about what AppendEvent appends for ev: member names,
// quotes, numbers and times take about 200 bytes beside the strings
// and data (a buffer sized by it rarely grows).
func EventSize(ev *events.Event) int {
	return 200 + len(ev.ID) + len(ev.Type) + len(ev.GroupID) + len(ev.CommandID) + len(ev.CorrelationID) + len(ev.Actor) + len(ev.Data)
}

// AppendRaw appends a json.RawMessage as json.Marshal writes it: null
// when nil, else compacted with <, >, &, U+2028 and U+2029 escaped. It
// copies only data that compacting leaves as it is and that is valid
// (RawPlain): what json.Marshal itself wrote when the event was made.
func AppendRaw(b []byte, data json.RawMessage) ([]byte, bool) {
	if data == nil {
		return append(b, "null"...), true
	}
	if !RawPlain(data) {
		return b, false
	}
	return append(b, data...), true
}

// RawPlain reports whether d is one valid JSON value that json.Marshal
// writes unchanged as a RawMessage: no whitespace outside strings and
// none of the characters it escapes (<, >, &, U+2028, U+2029). It is
// stricter than json.Valid where that is simpler (nesting deeper than
// maxPlainDepth), never looser: false only sends the value through
// json.Marshal.
func RawPlain(d []byte) bool {
	p := plainParser{d: d}
	return p.value(0) && p.i == len(d)
}

const maxPlainDepth = 64

type plainParser struct {
	d []byte
	i int
}

func (p *plainParser) value(depth int) bool {
	if p.i >= len(p.d) || depth > maxPlainDepth {
		return false
	}
	switch c := p.d[p.i]; {
	case c == '{':
		p.i++
		if p.peek('}') {
			return true
		}
		for {
			if !p.str() || !p.peek(':') || !p.value(depth+1) {
				return false
			}
			if p.peek('}') {
				return true
			}
			if !p.peek(',') {
				return false
			}
		}
	case c == '[':
		p.i++
		if p.peek(']') {
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			if p.peek(']') {
				return true
			}
			if !p.peek(',') {
				return false
			}
		}
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.word("true")
	case c == 'f':
		return p.word("false")
	case c == 'n':
		return p.word("null")
	}
	return false
}

// peek consumes c when it is next.
func (p *plainParser) peek(c byte) bool {
	if p.i < len(p.d) && p.d[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *plainParser) word(w string) bool {
	if len(p.d)-p.i < len(w) || string(p.d[p.i:p.i+len(w)]) != w {
		return false
	}
	p.i += len(w)
	return true
}

// str reads a string as encoding/json's scanner does (any byte from 0x20
// up but the quote and the backslash, which starts one of its escapes),
// refusing the characters json.Marshal escapes in a RawMessage.
func (p *plainParser) str() bool {
	if !p.peek('"') {
		return false
	}
	for p.i < len(p.d) {
		c := p.d[p.i]
		p.i++
		switch {
		case c == '"':
			return true
		case c < 0x20, c == '<', c == '>', c == '&':
			return false
		case c == 0xE2 && p.i+1 < len(p.d) && p.d[p.i] == 0x80 && p.d[p.i+1]&^1 == 0xA8:
			return false // U+2028, U+2029 (E2 80 A8, E2 80 A9)
		case c == '\\':
			if p.i >= len(p.d) {
				return false
			}
			e := p.d[p.i]
			p.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(p.d)-p.i < 4 {
					return false
				}
				for _, h := range p.d[p.i : p.i+4] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				p.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *plainParser) number() bool {
	p.peek('-')
	switch {
	case p.peek('0'):
	case p.digits() == 0:
		return false
	}
	if p.peek('.') && p.digits() == 0 {
		return false
	}
	if p.peek('e') || p.peek('E') {
		if !p.peek('+') {
			p.peek('-')
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

func (p *plainParser) digits() int {
	n := 0
	for p.i < len(p.d) && p.d[p.i] >= '0' && p.d[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}
