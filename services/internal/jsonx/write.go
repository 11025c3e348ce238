package jsonx

import "time"

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
