package wire

// Filler is a request type that can set its own fields from a body the
// pre-pass has accepted for it, without encoding/json's reflection: on the
// command path encoding/json's decode was about three quarters of the
// strict decode's CPU (docs/performance.md, issue 14). Decode calls
// FillChecked after Check, on a body that is exactly one JSON object whose
// member names are the type's own, each once, none null. FillChecked sets
// every field from the members (a field no member names stays as it was),
// or returns false, having changed nothing, for any value it does not read
// itself (a number, an escaped name, a wrong type): Decode then decodes
// the body with encoding/json, which gives the same fields or the error it
// always gave. A Filler must therefore fill exactly what encoding/json
// would; each one is held to that by a test against encoding/json.
type Filler interface {
	FillChecked(data []byte) bool
}

// EachMember calls fn with the raw name (without its quotes) and the raw
// value of each member of data, a body Check accepted, in order; it stops
// and returns false when fn does. A name with an escape in it is given
// raw: a Filler that meets one returns false.
func EachMember(data []byte, fn func(name, value []byte) bool) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return true
	}
	for i < len(data) && data[i] == '"' {
		end := skipString(data, i)
		name := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		start := i
		i = skipValue(data, i)
		if i < 0 || !fn(name, data[start:i]) {
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		if data[i] == '}' {
			return true
		}
		if data[i] != ',' {
			return false
		}
		i = skipSpace(data, i+1)
	}
	return false
}

// String reads raw, a JSON value Check accepted, as a string: ok is false
// when it is not one. Escapes decode as encoding/json decodes them (Check
// has refused lone surrogates and invalid UTF-8, the only inputs on which
// the two could differ).
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c == '\\' {
			return string(unescape(s)), true
		}
	}
	return string(s), true
}

// Strings reads raw, a JSON value Check accepted, as an array of strings:
// ok is false when it is not one. An empty array is an empty, non-nil
// slice, as encoding/json makes it.
func Strings(raw []byte) ([]string, bool) {
	if len(raw) < 2 || raw[0] != '[' {
		return nil, false
	}
	n := 0
	for i := skipSpace(raw, 1); i < len(raw) && raw[i] == '"'; n++ {
		i = skipSpace(raw, skipString(raw, i))
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	out := make([]string, 0, n)
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] != ']' {
		if raw[i] != '"' {
			return nil, false
		}
		end := skipString(raw, i)
		s, _ := String(raw[i:end])
		out = append(out, s)
		i = skipSpace(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return out, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'),
// which Check has found well formed.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i], which
// Check has found well formed; -1 if there is none.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
