// Package jsonlex is the small, strict JSON lexer behind Roster's fast
// decoders (commits in the projector, audit records in the sink). Those
// decoders read exactly the shapes Roster itself writes and give up on
// anything else, handing it to encoding/json, which stays the judge: every
// method here reports false rather than guess.
package jsonlex

// Lexer reads Data from Pos.
type Lexer struct {
	Data []byte
	Pos  int
}

// Space skips JSON whitespace.
func (l *Lexer) Space() {
	for l.Pos < len(l.Data) {
		switch l.Data[l.Pos] {
		case ' ', '\t', '\n', '\r':
			l.Pos++
		default:
			return
		}
	}
}

// Consume reads c if it is next.
func (l *Lexer) Consume(c byte) bool {
	if l.Pos < len(l.Data) && l.Data[l.Pos] == c {
		l.Pos++
		return true
	}
	return false
}

// RawString reads a string of printable ASCII without escapes and returns
// its content, aliasing Data. Anything else (an escape, a control byte,
// non-ASCII) reports false: the caller decodes it another way.
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

// Literal reads word (true, false, null, ...) if it is next.
func (l *Lexer) Literal(word string) bool {
	if len(l.Data)-l.Pos < len(word) || string(l.Data[l.Pos:l.Pos+len(word)]) != word {
		return false
	}
	l.Pos += len(word)
	return true
}
