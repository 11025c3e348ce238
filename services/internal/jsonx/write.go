package jsonx

import (
	"time"
	"unicode/utf8"
)

// Writers append what json.Marshal writes for a value, or report false
// when they cannot be sure to (the caller then uses json.Marshal).

// Plain reports whether json.Marshal writes s as is between quotes:
// printable ASCII other than the quote, the backslash and the characters
// it escapes for HTML (<, >, &).
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// AppendPlain appends s quoted; false when s is not Plain.
func AppendPlain(b []byte, s string) ([]byte, bool) {
	if !Plain(s) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// Verbatim reports whether json.Marshal writes s as is between quotes, for
// free text such as a nickname: valid UTF-8 without control bytes, the
// quote, the backslash, the HTML characters (<, >, &) and U+2028, U+2029
// (which it escapes for JavaScript). Plain strings are Verbatim.
func Verbatim(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// AppendVerbatim appends s quoted; false when s is not Verbatim.
func AppendVerbatim(b []byte, s string) ([]byte, bool) {
	if !Verbatim(s) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// AppendTime appends t as time.Time's MarshalJSON does (the same RFC 3339
// formatter, in quotes); false when t does not format (a year outside
// 0..9999).
func AppendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, false
	}
	return append(b, '"'), true
}
