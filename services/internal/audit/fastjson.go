package audit

import (
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rosterhq/roster/events/jsonlex"
)

// The sink's decoding fast path.
//
// Nearly every record the sink reads was written by audit.Publisher, i.e.
// by json.Marshal of the record struct: one flat object, keys spelled
// exactly as the struct tags, each key once. fastDecode parses exactly that
// shape in one pass straight into the struct, with no reflection and no
// json.Decoder. Whenever it meets anything else (a key it does not know or
// that differs in case, a key twice, null where a value is expected, a
// number that is not a plain integer, a surrogate escape, invalid UTF-8,
// trailing data, a time that does not parse...) it gives up and the caller
// decodes with strictJSON, which then decides, with its own error message.
//
// So the fast path only ever accepts what strictJSON accepts, and decodes
// it to the same value: FuzzFastDecodeAgreesWithStrict checks exactly that,
// and TestFastDecodeTakesPublisherOutput that it does not give up on what
// the publisher writes (else the sink silently gets slow again).

// fastDecode decodes data into a record of kind. ok is false when the fast
// path gave up; r is then meaningless.
func fastDecode(kind Kind, data []byte) (r Record, ok bool) {
	switch kind {
	case KindCommand:
		var c Command
		ok = decodeObject(data, &c, commandFields)
		return c, ok
	case KindEvent:
		var e Event
		ok = decodeObject(data, &e, eventFields)
		return e, ok
	case KindDeliveryAttempt:
		var d DeliveryAttempt
		ok = decodeObject(data, &d, deliveryAttemptFields)
		return d, ok
	case KindEndpointChange:
		var e EndpointChange
		ok = decodeObject(data, &e, endpointChangeFields)
		return e, ok
	}
	return nil, false
}

// field decodes one member's value at l into *T; false means "give up".
type field[T any] struct {
	name   string
	decode func(l *lexer, r *T) bool
}

// fieldSet is a record type's fields by JSON name. At most 64 fields (a
// bitmask finds duplicate keys).
type fieldSet[T any] struct {
	fields []field[T]
	index  map[string]int
}

func newFieldSet[T any](fields ...field[T]) fieldSet[T] {
	if len(fields) > 64 {
		panic("fieldSet: more than 64 fields")
	}
	fs := fieldSet[T]{fields: fields, index: make(map[string]int, len(fields))}
	for i, f := range fields {
		fs.index[f.name] = i
	}
	return fs
}

func decodeObject[T any](data []byte, r *T, fs fieldSet[T]) bool {
	l := lexer{jsonlex.Lexer{Data: data}}
	l.Space()
	if !l.Consume('{') {
		return false
	}
	var seen uint64
	l.Space()
	if !l.Consume('}') {
		for {
			l.Space()
			key, ok := l.RawString()
			if !ok {
				return false
			}
			i, known := fs.index[string(key)] // no allocation: the compiler keeps the bytes
			if !known || seen&(1<<i) != 0 {
				return false // unknown, different case, or twice: strictJSON decides
			}
			seen |= 1 << i
			l.Space()
			if !l.Consume(':') {
				return false
			}
			l.Space()
			if !fs.fields[i].decode(&l, r) {
				return false
			}
			l.Space()
			if l.Consume(',') {
				continue
			}
			if l.Consume('}') {
				break
			}
			return false
		}
	}
	l.Space()
	return l.Pos == len(l.Data)
}

// lexer reads JSON tokens from data.
// lexer adds this decoder's readers to the shared strict lexer.
type lexer struct {
	jsonlex.Lexer
}

// str reads a string value as encoding/json would: escapes resolved, valid
// UTF-8 kept. It gives up on invalid UTF-8 and on surrogate escapes (which
// encoding/json repairs in ways not worth repeating here).
func (l *lexer) str() (string, bool) {
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
			return l.escapedStr(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		l.Pos++
	}
	return "", false
}

// escapedStr finishes a string whose content began at start and has an
// escape at l.Pos.
func (l *lexer) escapedStr(start int) (string, bool) {
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
			if l.Pos+4 > len(l.Data) {
				return "", false
			}
			v, err := strconv.ParseUint(string(l.Data[l.Pos:l.Pos+4]), 16, 16)
			if err != nil {
				return "", false
			}
			if utf16.IsSurrogate(rune(v)) {
				return "", false
			}
			buf = utf8.AppendRune(buf, rune(v))
			l.Pos += 4
		default:
			return "", false
		}
	}
	return "", false
}

// integer reads a JSON integer literal (no fraction, no exponent, no
// leading zeros) and returns its text.
func (l *lexer) integer() ([]byte, bool) {
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

// Field decoders, one per Go type used by the records.

func strField[T any](name string, p func(*T) *string) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		s, ok := l.str()
		*p(r) = s
		return ok
	}}
}

func intField[T any, I int | int64](name string, p func(*T) *I) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		b, ok := l.integer()
		if !ok {
			return false
		}
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || int64(I(v)) != v {
			return false
		}
		*p(r) = I(v)
		return true
	}}
}

func uintField[T any](name string, p func(*T) *uint64) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		b, ok := l.integer()
		if !ok {
			return false
		}
		v, err := strconv.ParseUint(string(b), 10, 64)
		*p(r) = v
		return err == nil
	}}
}

func boolField[T any](name string, p func(*T) *bool) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		switch {
		case l.Literal("true"):
			*p(r) = true
		case l.Literal("false"):
			*p(r) = false
		default:
			return false
		}
		return true
	}}
}

// parseTime reads a time the way time.Time.UnmarshalJSON does (RFC 3339).
func (l *lexer) time() (time.Time, bool) {
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

func timeField[T any](name string, p func(*T) *time.Time) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		t, ok := l.time()
		*p(r) = t
		return ok
	}}
}

// timePtrField: null leaves the pointer nil, as encoding/json does.
func timePtrField[T any](name string, p func(*T) **time.Time) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		if l.Literal("null") {
			*p(r) = nil
			return true
		}
		t, ok := l.time()
		*p(r) = &t
		return ok
	}}
}

// headersField: a string-to-string object, or null (a nil map, as
// encoding/json leaves it). A key twice: not fast (the strict decoder
// refuses duplicate names).
func headersField[T any](name string, p func(*T) *map[string]string) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		if l.Literal("null") {
			*p(r) = nil
			return true
		}
		if !l.Consume('{') {
			return false
		}
		m := map[string]string{}
		*p(r) = m
		l.Space()
		if l.Consume('}') {
			return true
		}
		for {
			l.Space()
			k, ok := l.str()
			if !ok {
				return false
			}
			l.Space()
			if !l.Consume(':') {
				return false
			}
			l.Space()
			v, ok := l.str()
			if !ok {
				return false
			}
			if _, dup := m[k]; dup {
				return false
			}
			m[k] = v
			l.Space()
			if l.Consume(',') {
				continue
			}
			return l.Consume('}')
		}
	}}
}

// The field sets mirror the records' struct tags; TestFastFieldsMatchStructTags
// keeps them in step.
var (
	commandFields = newFieldSet(
		strField("id", func(r *Command) *string { return &r.ID }),
		strField("command_id", func(r *Command) *string { return &r.CommandID }),
		strField("subject", func(r *Command) *string { return &r.Subject }),
		strField("group_id", func(r *Command) *string { return &r.GroupID }),
		strField("actor", func(r *Command) *string { return &r.Actor }),
		strField("outcome", func(r *Command) *string { return &r.Outcome }),
		strField("error_code", func(r *Command) *string { return &r.ErrorCode }),
		strField("error_message", func(r *Command) *string { return &r.ErrorMsg }),
		uintField("version", func(r *Command) *uint64 { return &r.Version }),
		intField("latency_us", func(r *Command) *int64 { return &r.LatencyUS }),
		timeField("received_at", func(r *Command) *time.Time { return &r.ReceivedAt }),
		strField("payload_sha256", func(r *Command) *string { return &r.PayloadHash }),
		intField("payload_size", func(r *Command) *int { return &r.PayloadSize }),
	)
	eventFields = newFieldSet(
		strField("id", func(r *Event) *string { return &r.ID }),
		strField("type", func(r *Event) *string { return &r.Type }),
		intField("schema_version", func(r *Event) *int { return &r.SchemaVersion }),
		strField("group_id", func(r *Event) *string { return &r.GroupID }),
		uintField("version", func(r *Event) *uint64 { return &r.Version }),
		uintField("stream_seq", func(r *Event) *uint64 { return &r.StreamSeq }),
		strField("command_id", func(r *Event) *string { return &r.CommandID }),
		strField("correlation_id", func(r *Event) *string { return &r.CorrelationID }),
		strField("actor", func(r *Event) *string { return &r.Actor }),
		timeField("occurred_at", func(r *Event) *time.Time { return &r.OccurredAt }),
		strField("data", func(r *Event) *string { return &r.Data }),
	)
	deliveryAttemptFields = newFieldSet(
		strField("id", func(r *DeliveryAttempt) *string { return &r.ID }),
		strField("event_id", func(r *DeliveryAttempt) *string { return &r.EventID }),
		strField("event_type", func(r *DeliveryAttempt) *string { return &r.EventType }),
		strField("group_id", func(r *DeliveryAttempt) *string { return &r.GroupID }),
		strField("endpoint_id", func(r *DeliveryAttempt) *string { return &r.EndpointID }),
		strField("url", func(r *DeliveryAttempt) *string { return &r.URL }),
		strField("format", func(r *DeliveryAttempt) *string { return &r.Format }),
		intField("attempt", func(r *DeliveryAttempt) *int { return &r.Attempt }),
		strField("trigger", func(r *DeliveryAttempt) *string { return &r.Trigger }),
		headersField("request_headers", func(r *DeliveryAttempt) *map[string]string { return &r.RequestHeaders }),
		intField("request_size", func(r *DeliveryAttempt) *int { return &r.RequestSize }),
		strField("request_sha256", func(r *DeliveryAttempt) *string { return &r.RequestHash }),
		intField("response_status", func(r *DeliveryAttempt) *int { return &r.ResponseStatus }),
		headersField("response_headers", func(r *DeliveryAttempt) *map[string]string { return &r.ResponseHeaders }),
		strField("response_body", func(r *DeliveryAttempt) *string { return &r.ResponseBody }),
		boolField("success", func(r *DeliveryAttempt) *bool { return &r.Success }),
		strField("failure_class", func(r *DeliveryAttempt) *string { return &r.FailureClass }),
		strField("failure_message", func(r *DeliveryAttempt) *string { return &r.FailureMsg }),
		intField("latency_us", func(r *DeliveryAttempt) *int64 { return &r.LatencyUS }),
		timeField("started_at", func(r *DeliveryAttempt) *time.Time { return &r.StartedAt }),
		timePtrField("next_attempt_at", func(r *DeliveryAttempt) **time.Time { return &r.NextAttemptAt }),
		strField("state", func(r *DeliveryAttempt) *string { return &r.State }),
		boolField("repeat", func(r *DeliveryAttempt) *bool { return &r.Repeat }),
	)
	endpointChangeFields = newFieldSet(
		strField("id", func(r *EndpointChange) *string { return &r.ID }),
		strField("endpoint_id", func(r *EndpointChange) *string { return &r.EndpointID }),
		strField("change", func(r *EndpointChange) *string { return &r.Change }),
		strField("actor", func(r *EndpointChange) *string { return &r.Actor }),
		boolField("automatic", func(r *EndpointChange) *bool { return &r.Automatic }),
		strField("reason", func(r *EndpointChange) *string { return &r.Reason }),
		strField("group_id", func(r *EndpointChange) *string { return &r.GroupID }),
		strField("endpoint", func(r *EndpointChange) *string { return &r.Endpoint }),
		timeField("at", func(r *EndpointChange) *time.Time { return &r.At }),
	)
)
