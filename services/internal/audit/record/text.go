package record

import (
	"strings"
	"unicode/utf8"
)

// secretHeaders never reach a row, whatever a publisher sent: defence in
// depth for the dispatcher's own filtering.
var secretHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
	"webhook-signature":   true,
	"x-api-key":           true,
}

// RedactedValue replaces a secret header's value.
const RedactedValue = "[redacted]"

// StoredHeaderValue is what a store keeps of header name's value: the value,
// or RedactedValue for a header that may carry a secret. Every store applies
// it (the storetest contract checks it).
func StoredHeaderValue(name, value string) string {
	if secretHeaders[strings.ToLower(name)] {
		return RedactedValue
	}
	return value
}

// TruncateUTF8 cuts s to at most n bytes without splitting a rune.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	// Drop the bytes of a rune the cut split (at most UTFMax-1 of them).
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
