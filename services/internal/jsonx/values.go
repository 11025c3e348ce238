package jsonx

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// RawString reads a string of printable ASCII without escapes and returns
// its content, aliasing Data: names, and values such as times that are
// parsed further. Anything else reports false.
func (l *Lexer) RawString() ([]byte, bool) {
	if !l.Consume('"') {
		return nil, false
	}
	start := l.Pos
	for l.Pos < len(l.Data) {
		c := l.Data[l.Pos]
		switch {
		case c == '"':
			l.Pos++
			return l.Data[start : l.Pos-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		l.Pos++
	}
	return nil, false
}

// String reads a string value as encoding/json does: escapes resolved,
// valid UTF-8 kept. It gives up on invalid UTF-8 (which encoding/json
// replaces) and on surrogate escapes (which it pairs or replaces).
func (l *Lexer) String() (string, bool) {
	if !l.Consume('"') {
		return "", false
	}
	start := l.Pos
	ascii := true
	for l.Pos < len(l.Data) {
		c := l.Data[l.Pos]
		switch {
		case c == '"':
			s := l.Data[start:l.Pos]
			l.Pos++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\':
			return l.escapedString(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		l.Pos++
	}
	return "", false
}

// escapedString finishes a string whose content began at start and has an
// escape at Pos.
func (l *Lexer) escapedString(start int) (string, bool) {
	buf := make([]byte, 0, l.Pos-start+16)
	buf = append(buf, l.Data[start:l.Pos]...)
	for l.Pos < len(l.Data) {
		c := l.Data[l.Pos]
		switch {
		case c == '"':
			l.Pos++
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			l.Pos++
			continue
		}
		if l.Pos+1 >= len(l.Data) {
			return "", false
		}
		e := l.Data[l.Pos+1]
		l.Pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(l.Data, l.Pos)
			if !ok || utf16.IsSurrogate(r) {
				return "", false
			}
			buf = utf8.AppendRune(buf, r)
			l.Pos += 4
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape at b[at:].
func hex4(b []byte, at int) (rune, bool) {
	if len(b)-at < 4 {
		return 0, false
	}
	var r rune
	for _, h := range b[at : at+4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h >= 'a' && h <= 'f':
			h -= 'a' - 10
		case h >= 'A' && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}

// Bool reads true or false.
func (l *Lexer) Bool() (v, ok bool) {
	switch {
	case l.Literal("true"):
		return true, true
	case l.Literal("false"):
		return false, true
	}
	return false, false
}

// integer reads a JSON integer literal (no fraction, no exponent, a
// leading zero only alone) and returns its text.
func (l *Lexer) integer() ([]byte, bool) {
	start := l.Pos
	l.Consume('-')
	digits := l.Pos
	for l.Pos < len(l.Data) && l.Data[l.Pos] >= '0' && l.Data[l.Pos] <= '9' {
		l.Pos++
	}
	n := l.Pos - digits
	if n == 0 || n > 1 && l.Data[digits] == '0' {
		return nil, false
	}
	if l.Pos < len(l.Data) {
		switch l.Data[l.Pos] {
		case '.', 'e', 'E':
			return nil, false
		}
	}
	return l.Data[start:l.Pos], true
}

// Uint reads an integer that fits in a uint64 (no sign).
func (l *Lexer) Uint() (uint64, bool) {
	b, ok := l.integer()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	return v, err == nil
}

// Int reads an integer that fits in bits (8 to 64) bits, signed.
func (l *Lexer) Int(bits int) (int64, bool) {
	b, ok := l.integer()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b), 10, bits)
	return v, err == nil
}
