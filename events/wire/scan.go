package wire

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is the pre-pass: a complete JSON syntax check (RFC 8259) that
// also knows, from the target's shape, which member names each object may
// hold. It allocates only to unescape a name that holds escapes and to
// build an error message.
type scanner struct {
	data []byte
	pos  int
	opt  Options
	path []pathElem // where the scanner is, for messages
}

type pathElem struct {
	name  []byte // member name (unescaped), or nil for an array index
	index int
}

func (s *scanner) where() string {
	if len(s.path) == 0 {
		return "request"
	}
	var b strings.Builder
	for i, p := range s.path {
		if p.name == nil {
			b.WriteString("[" + strconv.Itoa(p.index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.Write(p.name)
	}
	return b.String()
}

func (s *scanner) malformed(what string) error {
	if s.pos >= len(s.data) {
		return invalidf("malformed JSON: unexpected end of input")
	}
	return invalidf("malformed JSON at byte %d: %s", s.pos, what)
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value reads one JSON value the shape sh may hold.
func (s *scanner) value(sh *shape, depth int) error {
	s.space()
	if s.pos >= len(s.data) {
		return s.malformed("want a value")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		if depth >= MaxDepth {
			return invalidf("%s: nested deeper than %d", s.where(), MaxDepth)
		}
		return s.object(sh, depth+1)
	case c == '[':
		if depth >= MaxDepth {
			return invalidf("%s: nested deeper than %d", s.where(), MaxDepth)
		}
		return s.array(sh, depth+1)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		if !s.opt.AllowNull {
			return invalidf("%s: null is not accepted; omit the field instead", s.where())
		}
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return s.malformed("want a value")
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.malformed("want a value")
	}
	s.pos += len(word)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.digits() == 0:
		return s.malformed("want a digit")
	}
	if s.consume('.') && s.digits() == 0 {
		return s.malformed("want a digit after '.'")
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return s.malformed("want an exponent")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) array(sh *shape, depth int) error {
	s.pos++ // '['
	elem := openType
	if sh.kind == kindSlice {
		elem = sh.elem
	}
	s.space()
	if s.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		s.path = append(s.path, pathElem{index: i})
		if err := s.value(elem, depth); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.consume(']') {
			return nil
		}
		if !s.consume(',') {
			return s.malformed("want ',' or ']'")
		}
	}
}

func (s *scanner) object(sh *shape, depth int) error {
	s.pos++ // '{'
	var (
		mask uint64          // struct members seen, by field index (< 64)
		seen map[string]bool // other members seen
		open = sh.kind != kindStruct
	)
	s.space()
	if s.consume('}') {
		return nil
	}
	for {
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.malformed("want a member name")
		}
		name, err := s.name()
		if err != nil {
			return err
		}
		elem := openType
		if sh.kind == kindMap {
			elem = sh.elem
		}
		dup := false
		if open {
			dup = seen[string(name)]
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[string(name)] = true
		} else {
			f, ok := sh.fields[string(name)]
			if !ok {
				return s.unknown(sh, name)
			}
			elem = f.shape
			if f.index < 64 {
				dup = mask&(1<<f.index) != 0
				mask |= 1 << f.index
			} else {
				dup = seen[string(name)]
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[string(name)] = true
			}
		}
		if dup {
			s.path = append(s.path, pathElem{name: name})
			return invalidf("%s: duplicate field", s.where())
		}
		s.space()
		if !s.consume(':') {
			return s.malformed("want ':'")
		}
		s.path = append(s.path, pathElem{name: name})
		if err := s.value(elem, depth); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.consume('}') {
			return nil
		}
		if !s.consume(',') {
			return s.malformed("want ',' or '}'")
		}
	}
}

// name reads a member name and returns it unescaped; without escapes it
// aliases data (no allocation).
func (s *scanner) name() ([]byte, error) {
	start := s.pos + 1
	escaped, err := s.str(true)
	if err != nil {
		return nil, err
	}
	raw := s.data[start : s.pos-1]
	if escaped {
		return unescape(raw), nil
	}
	return raw, nil
}

func (s *scanner) unknown(sh *shape, name []byte) error {
	s.path = append(s.path, pathElem{name: name})
	field := s.where()
	for _, n := range sh.names {
		if strings.EqualFold(n, string(name)) {
			return invalidf("unknown field %q (names are case-sensitive: did you mean %q?)", field, n)
		}
	}
	return invalidf("unknown field %q", field)
}

// str reads a string at s.pos ('"') and reports whether it held escapes.
// It refuses lone surrogates always and, unless AnyText, the Refused
// characters; name says whether it is a member name, for messages.
func (s *scanner) str(name bool) (bool, error) {
	s.pos++ // '"'
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(name); err != nil {
				return false, err
			}
		case c < 0x20:
			return false, s.malformed("control character in a string (escape it)")
		case c < 0x7f:
			s.pos++
		default:
			// UTF-8 is already valid: decode to check the refused set.
			r, n := rune(c), 1
			if c >= 0x80 {
				r, n = utf8.DecodeRune(s.data[s.pos:])
			}
			if !s.opt.AnyText && Refused(r) {
				return false, s.refused(name, r)
			}
			s.pos += n
		}
	}
	return false, s.malformed("unterminated string")
}

func (s *scanner) refused(name bool, r rune) error {
	if name {
		return invalidf("%s: a member name holds %U (control and bidi characters are refused)", s.where(), r)
	}
	return invalidf("%s: holds %U (control and bidi characters are refused)", s.where(), r)
}

// escape reads one escape sequence at s.pos ('\\').
func (s *scanner) escape(name bool) error {
	if s.pos+1 >= len(s.data) {
		return s.malformed("unterminated string")
	}
	var r rune
	switch s.data[s.pos+1] {
	case '"', '\\', '/':
		s.pos += 2
		return nil
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		u, ok := hex4(s.data, s.pos+2)
		if !ok {
			return s.malformed("want four hex digits after \\u")
		}
		r = u
		if utf16.IsSurrogate(r) {
			lo, ok := rune(0), false
			if s.pos+7 < len(s.data) && s.data[s.pos+6] == '\\' && s.data[s.pos+7] == 'u' {
				lo, ok = hex4(s.data, s.pos+8)
			}
			if !ok || r >= 0xDC00 || lo < 0xDC00 || lo > 0xDFFF {
				return invalidf("%s: lone surrogate \\u%04x (not valid Unicode)", s.where(), r)
			}
			r = utf16.DecodeRune(r, lo)
			s.pos += 6
		}
		s.pos += 6
		if !s.opt.AnyText && Refused(r) {
			return s.refused(name, r)
		}
		return nil
	default:
		return s.malformed("unknown escape")
	}
	s.pos += 2
	if !s.opt.AnyText && Refused(r) {
		return s.refused(name, r)
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes a member name's escapes; the scanner has checked them.
func unescape(raw []byte) []byte {
	var b bytes.Buffer
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			b.WriteByte(raw[i])
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			if utf16.IsSurrogate(r) {
				lo, _ := hex4(raw, i+8)
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			b.WriteRune(r)
			i += 6
			continue
		default:
			b.WriteByte(raw[i+1])
		}
		i += 2
	}
	return b.Bytes()
}
