package jsonx

import "time"

// Lexer reads JSON tokens from Data at Pos. Its methods move Pos past what
// they read and report false when the next token is not what they read;
// Pos is then meaningless.
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

// Literal reads word (true, false, null) if it is next.
func (l *Lexer) Literal(word string) bool {
	if len(l.Data)-l.Pos < len(word) || string(l.Data[l.Pos:l.Pos+len(word)]) != word {
		return false
	}
	l.Pos += len(word)
	return true
}

// End reports whether only whitespace is left: one JSON value, no
// trailing data.
func (l *Lexer) End() bool {
	l.Space()
	return l.Pos == len(l.Data)
}

// Fields are the member names an object may hold, each at most once, in
// the order of their indexes. At most 64.
type Fields struct {
	index map[string]int
}

// NewFields indexes names; it panics on more than 64 (a programming
// error, caught by any test that decodes).
func NewFields(names ...string) Fields {
	if len(names) > 64 {
		panic("jsonx: more than 64 fields")
	}
	f := Fields{index: make(map[string]int, len(names))}
	for i, n := range names {
		f.index[n] = i
	}
	return f
}

// Object reads an object whose member names are all in f, each at most
// once, calling member with the name's index and l at the value; member
// reads the value. A name not in f (unknown, or in another case, which
// encoding/json would still match) or seen twice gives up.
func (l *Lexer) Object(f Fields, member func(i int) bool) bool {
	l.Space()
	if !l.Consume('{') {
		return false
	}
	l.Space()
	if l.Consume('}') {
		return true
	}
	var seen uint64
	for {
		l.Space()
		key, ok := l.RawString()
		if !ok {
			return false
		}
		i, known := f.index[string(key)] // no allocation: the compiler keeps the bytes
		if !known || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		l.Space()
		if !l.Consume(':') {
			return false
		}
		l.Space()
		if !member(i) {
			return false
		}
		l.Space()
		if l.Consume(',') {
			continue
		}
		return l.Consume('}')
	}
}

// Time reads a time as encoding/json does: time.Time's UnmarshalJSON (RFC
// 3339) on the quoted string.
func (l *Lexer) Time() (time.Time, bool) {
	start := l.Pos
	if _, ok := l.RawString(); !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalJSON(l.Data[start:l.Pos]); err != nil {
		return time.Time{}, false
	}
	return t, true
}
