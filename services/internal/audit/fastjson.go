package audit

import (
	"time"

	"github.com/rosterhq/roster/services/internal/jsonx"
)

// The sink's decoding fast path (docs/adr/0024; ADR 0074 keeps it: it is
// several times faster than the strict path a library would also need).
//
// Nearly every record the sink reads was written by audit.Publisher, i.e.
// by json.Marshal of the record struct: one flat object, keys spelled
// exactly as the struct tags, each key once. fastDecode parses exactly that
// shape in one pass straight into the struct with jsonx, with no
// reflection and no json.Decoder. Whenever it meets anything else (a key it
// does not know or that differs in case, a key twice, null where a value is
// expected, a number that is not a plain integer, a surrogate escape,
// invalid UTF-8, trailing data, a time that does not parse...) it gives up
// and the caller decodes with strictJSON, which then decides, with its own
// error message.
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

// lexer is jsonx's lexer over one record, beside the record's text as one
// string: the plain strings it decodes (ASCII, no escapes: nearly all of
// them) are substrings of that text, one allocation per record instead of
// one per string field. They keep the text alive as long as the record,
// which is about the size of the record's strings anyway.
type lexer struct {
	jsonx.Lexer
	src string
}

// str reads a string like jsonx's String, to the same value.
func (l *lexer) str() (string, bool) {
	start := l.Pos
	if raw, ok := l.RawString(); ok {
		end := l.Pos - 1 // the closing quote
		return l.src[end-len(raw) : end], true
	}
	l.Pos = start
	return l.String()
}

// fieldSet is a record type's fields, indexed by JSON name.
type fieldSet[T any] struct {
	fields []field[T]
	names  jsonx.Fields
}

func newFieldSet[T any](fields ...field[T]) fieldSet[T] {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return fieldSet[T]{fields: fields, names: jsonx.NewFields(names...)}
}

func decodeObject[T any](data []byte, r *T, fs fieldSet[T]) bool {
	l := lexer{Lexer: jsonx.Lexer{Data: data}, src: string(data)}
	return l.Object(fs.names, func(i int) bool { return fs.fields[i].decode(&l, r) }) && l.End()
}

// Field decoders, one per Go type used by the records.

func strField[T any](name string, p func(*T) *string) field[T] {
	return field[T]{name, func(l *lexer, r *T) (ok bool) {
		*p(r), ok = l.str()
		return ok
	}}
}

func intField[T any, I int | int64](name string, p func(*T) *I) field[T] {
	return field[T]{name, func(l *lexer, r *T) bool {
		v, ok := l.Int(64)
		if !ok || int64(I(v)) != v {
			return false
		}
		*p(r) = I(v)
		return true
	}}
}

func uintField[T any](name string, p func(*T) *uint64) field[T] {
	return field[T]{name, func(l *lexer, r *T) (ok bool) {
		*p(r), ok = l.Uint()
		return ok
	}}
}

func boolField[T any](name string, p func(*T) *bool) field[T] {
	return field[T]{name, func(l *lexer, r *T) (ok bool) {
		*p(r), ok = l.Bool()
		return ok
	}}
}

func timeField[T any](name string, p func(*T) *time.Time) field[T] {
	return field[T]{name, func(l *lexer, r *T) (ok bool) {
		*p(r), ok = l.Time()
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
		t, ok := l.Time()
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
