// Package wire is Roster's one strict JSON decoder. Every subject that takes
// JSON from outside (group commands, membership queries, webhook endpoint
// requests) and the audit sink decode through it, so all of them, and the
// JSON Schemas under schemas/json, agree on which bytes are a request:
//
//   - exactly one JSON object, nothing after it but whitespace;
//   - member names match the Go type's JSON names exactly (case included);
//     unknown names and duplicate names are refused, at every depth;
//   - the text is valid UTF-8 and no \u escape is a lone surrogate;
//   - no member value is null (omit the member instead);
//   - nesting at most MaxDepth deep;
//   - in requests, no string holds a refused character (Refused): C0
//     controls other than tab and line feed, DEL, C1 controls, the bidi
//     marks, embeddings, overrides and isolates, and the byte-order mark.
//
// Field rules (ID, Name, Text) add per-field lengths and, for names, no tab
// or line feed either. Errors are *events.Error with code invalid_argument
// and a message naming the field; parser internals never reach a caller.
//
// The checks run as one pass over the bytes before encoding/json decodes
// them: after the pass, encoding/json's case-insensitive matching and
// last-duplicate-wins can no longer make a difference. A type that is a
// Filler fills itself from the checked bytes instead, and falls back to
// encoding/json for anything it does not read.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/events"
)

// MaxDepth bounds object and array nesting.
const MaxDepth = 32

// Options select the rules. The zero value is the request rule set.
type Options struct {
	// AllowNull accepts null member values. Records Roster writes itself
	// (audit) carry nulls for empty maps; requests never need them.
	AllowNull bool
	// AnyText skips the refused-character rule for string values: audit
	// records carry receivers' response bodies verbatim.
	AnyText bool
}

// Request is the rule set for every request subject.
var Request = Options{}

// Record is the rule set for records Roster wrote (the audit stream):
// everything but the text rule and the null rule.
var Record = Options{AllowNull: true, AnyText: true}

// Decode decodes one request body into v (a pointer to a struct) under the
// Request rules.
func Decode(data []byte, v any) error { return Request.Decode(data, v) }

// Decode decodes data into v under o's rules.
func (o Options) Decode(data []byte, v any) error {
	if err := o.Check(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	if f, ok := v.(Filler); ok && f.FillChecked(data) {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return events.Errorf(events.CodeInvalidArgument, "%s", explain(data, reflect.TypeOf(v), err))
	}
	return nil
}

// explain names the member a failed decode is about. encoding/json names
// it for plain wrong types; an error from a type's own UnmarshalJSON
// (durations, times) comes without it, so the members are decoded one by
// one into their fields' types until one fails. Only failures pay.
func explain(data []byte, t reflect.Type, err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return describe(err)
	}
	sh := shapeOf(t)
	var members map[string]json.RawMessage
	if sh.kind != kindStruct || json.Unmarshal(data, &members) != nil {
		return describe(err)
	}
	for _, name := range sh.names {
		raw, ok := members[name]
		if !ok {
			continue
		}
		f := sh.fields[name]
		if ferr := json.Unmarshal(raw, reflect.New(f.typ).Interface()); ferr != nil {
			return name + ": " + describeValue(ferr, f.typ)
		}
	}
	return describe(err)
}

var timeType = reflect.TypeFor[time.Time]()

// describeValue explains why one member's value did not decode.
func describeValue(err error, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case t == timeType:
		return "want an RFC 3339 time such as 2026-01-02T15:04:05Z"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("wrong type: got %s, want %s", typeErr.Value, jsonKind(typeErr.Type))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Check runs the pre-pass alone: data must be a request that t (a struct
// type or a pointer to one) can hold under o's rules.
func (o Options) Check(data []byte, t reflect.Type) error {
	if t == nil {
		return errors.New("wire: decode target is nil")
	}
	var path [8]pathElem
	s := scanner{data: data, opt: o, path: path[:0]}
	s.space()
	if s.pos == len(data) {
		return invalidf("empty request: want a JSON object")
	}
	if data[s.pos] != '{' {
		return invalidf("request: want a JSON object")
	}
	if !utf8.Valid(data) {
		return invalidf("request: invalid UTF-8 at byte %d", firstInvalid(data))
	}
	if err := s.value(shapeOf(t), 0); err != nil {
		return err
	}
	s.space()
	if s.pos != len(data) {
		return invalidf("malformed JSON: data after the JSON object at byte %d", s.pos)
	}
	return nil
}

func invalidf(format string, args ...any) *events.Error {
	return events.Errorf(events.CodeInvalidArgument, format, args...)
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// describe turns encoding/json's errors (after the pre-pass: wrong types
// only) into a message naming the field.
func describe(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		f := typeErr.Field
		if f == "" {
			return fmt.Sprintf("request: want a JSON object, got %s", typeErr.Value)
		}
		return fmt.Sprintf("%s: wrong type: got %s, want %s", f, typeErr.Value, jsonKind(typeErr.Type))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)
	}
	// A type's own UnmarshalJSON (durations, times) explains itself.
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return "number"
}
