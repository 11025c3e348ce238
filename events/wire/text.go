package wire

import (
	"unicode/utf8"

	"github.com/rosterhq/roster/events"
)

// Lengths of free-form fields, in characters (Unicode code points), the
// unit JSON Schema's maxLength counts. Ids are ASCII: events.MaxIDLen.
const (
	MaxNameLen   = 256  // group name
	MaxIntroLen  = 2048 // group intro
	MaxReasonLen = 1024 // join message, rejection reason, pause reason, endpoint description
	MaxURLLen    = 2048 // webhook endpoint URL
	MaxTokenLen  = 512  // opaque tokens: cursors, secrets, durations, enums
)

// Refused reports whether r is never accepted in a request string:
//
//	U+0000-U+0008, U+000B-U+001F  C0 controls except tab (U+0009) and line feed (U+000A)
//	U+007F                        DEL
//	U+0080-U+009F                 C1 controls (U+009B is the 8-bit ANSI escape introducer)
//	U+200E, U+200F                left-to-right and right-to-left marks
//	U+202A-U+202E                 bidi embeddings and overrides
//	U+2066-U+2069                 bidi isolates
//	U+FEFF                        byte-order mark / zero-width no-break space
//
// Lone surrogates are refused too, as a \u escape (they cannot occur in
// valid UTF-8). Carriage return is refused: free text uses "\n" line ends.
// Names refuse tab and line feed as well (Name). docs/commands.md documents
// the set; the JSON Schemas state it as a pattern (TextPattern, NamePattern).
func Refused(r rune) bool {
	switch {
	case r < 0x20:
		return r != '\t' && r != '\n'
	case r < 0x7f:
		return false
	case r <= 0x9f:
		return true
	case r < 0x200e:
		return false
	}
	return r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0xfeff
}

// TextPattern and NamePattern are the JSON Schema patterns (ECMA-262, as
// JSON strings they hold the characters themselves) of Text and Name.
const (
	TextPattern = "^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]*$"
	NamePattern = "^[^\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]*$"
)

// ID checks a group, user, command or endpoint id (events.ValidateID).
func ID(field, s string) error { return events.ValidateID(field, s) }

// Text checks free text: valid UTF-8, no Refused character, at most max
// characters. Empty is fine; the caller decides what is required.
func Text(field, s string, max int) error { return text(field, s, max, false) }

// Name checks a one-line name: Text, and no tab or line feed either.
func Name(field, s string, max int) error { return text(field, s, max, true) }

func text(field, s string, max int, oneLine bool) error {
	n := 0
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return invalidf("%s: invalid UTF-8", field)
		case Refused(r), oneLine && (r == '\t' || r == '\n'):
			return invalidf("%s: holds %U (control and bidi characters are refused)", field, r)
		}
		n++
	}
	if n > max {
		return invalidf("%s: longer than %d characters", field, max)
	}
	return nil
}

func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3 // a real U+FFFD is three bytes; an invalid byte decodes as size 1
}
