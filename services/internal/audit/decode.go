package audit

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
)

// ErrMalformed marks a record the sink can never write: not JSON, unknown
// fields, an unknown kind, or values the tables cannot hold. Such a record
// goes to the dead-letter subject with the error as its reason.
var ErrMalformed = errors.New("malformed audit record")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// MaxResponseBody is how much of a receiver's response body a
// delivery_attempts row keeps.
const MaxResponseBody = 64 << 10

const maxIDLen = 200

// DateTime holds 1970-01-01 .. 2105-12-31 (UInt32 seconds).
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

// row is one line for one table.
type row struct {
	table  *table
	id     string
	values []any
}

// DecodeRecord parses a record published on roster.audit.<kind> and checks
// that every table column can hold it. It is the sink's only way in, so a
// record that passes always fits its table.
//
// JSON is read strictly (unknown fields and trailing data are errors). The
// records audit.Publisher writes take a one-pass fast path (fastjson.go);
// anything else goes through encoding/json, which decides and explains.
func DecodeRecord(kind Kind, data []byte) (Record, error) {
	r, ok := fastDecode(kind, data)
	if !ok {
		var err error
		if r, err = strictDecode(kind, data); err != nil {
			return nil, err
		}
	}
	if err := Validate(r); err != nil {
		return nil, err
	}
	return r, nil
}

// strictDecode decodes with encoding/json, unknown fields disallowed.
func strictDecode(kind Kind, data []byte) (Record, error) {
	switch kind {
	case KindCommand:
		var c Command
		err := strictJSON(data, &c)
		return c, err
	case KindEvent:
		var e Event
		err := strictJSON(data, &e)
		return e, err
	case KindDeliveryAttempt:
		var d DeliveryAttempt
		err := strictJSON(data, &d)
		return d, err
	case KindEndpointChange:
		var e EndpointChange
		err := strictJSON(data, &e)
		return e, err
	}
	return nil, malformed("unknown record kind %q", kind)
}

// strictJSON decodes with events/wire under its Record rules: the same
// structure rules as requests (exact names, no duplicates, no unknown
// members, no trailing data, valid UTF-8), any text, nulls allowed.
func strictJSON(data []byte, v any) error {
	if err := wire.Record.Decode(data, v); err != nil {
		var e *events.Error
		if errors.As(err, &e) {
			return malformed("decode: %s", e.Message)
		}
		return malformed("decode: %v", err)
	}
	return nil
}

// Validate reports every reason r cannot be stored, wrapped in ErrMalformed.
func Validate(r Record) error {
	var p problems
	p.id("id", r.AuditID())
	switch r := r.(type) {
	case Command:
		p.nonEmpty("subject", r.Subject)
		p.oneOf("outcome", r.Outcome, OutcomeAccepted, OutcomeRejected, OutcomeDuplicate, OutcomeUncertain)
		p.time("received_at", r.ReceivedAt)
		p.nonNegative("payload_size", int64(r.PayloadSize))
		p.fitsUint32("payload_size", int64(r.PayloadSize))
	case Event:
		p.nonEmpty("type", r.Type)
		p.nonEmpty("group_id", r.GroupID)
		if r.Version == 0 {
			p.add("version: must be at least 1")
		}
		if r.SchemaVersion < 0 || r.SchemaVersion > 65535 {
			p.add("schema_version: out of range")
		}
		p.time("occurred_at", r.OccurredAt)
	case DeliveryAttempt:
		p.nonEmpty("event_id", r.EventID)
		p.nonEmpty("endpoint_id", r.EndpointID)
		if r.Attempt < 1 {
			p.add("attempt: must be at least 1")
		}
		p.fitsUint32("attempt", int64(r.Attempt))
		if r.ResponseStatus < 0 || r.ResponseStatus > 999 {
			p.add("response_status: must be 0 (no response) or an HTTP status")
		}
		p.nonNegative("request_size", int64(r.RequestSize))
		p.fitsUint32("request_size", int64(r.RequestSize))
		p.oneOf("state", r.State, "succeeded", "retrying", "exhausted", "held")
		p.time("started_at", r.StartedAt)
		if r.NextAttemptAt != nil {
			p.time("next_attempt_at", *r.NextAttemptAt)
		}
	case EndpointChange:
		p.nonEmpty("endpoint_id", r.EndpointID)
		p.oneOf("change", r.Change, "created", "updated", "paused", "resumed", "deleted", "secret_rotated")
		p.time("at", r.At)
	default:
		p.add(fmt.Sprintf("unknown record type %T", r))
	}
	return p.err()
}

type problems []string

func (p *problems) add(s string) { *p = append(*p, s) }

func (p *problems) id(field, v string) {
	switch {
	case v == "":
		p.add(field + ": must not be empty")
	case len(v) > maxIDLen:
		p.add(fmt.Sprintf("%s: longer than %d bytes", field, maxIDLen))
	}
}

func (p *problems) nonEmpty(field, v string) {
	if strings.TrimSpace(v) == "" {
		p.add(field + ": must not be empty")
	}
}

func (p *problems) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.add(fmt.Sprintf("%s: %q is not one of %s", field, v, strings.Join(allowed, ", ")))
}

func (p *problems) time(field string, t time.Time) {
	if t.Before(minTime) || t.After(maxTime) {
		p.add(fmt.Sprintf("%s: %s is outside 1970..2105", field, t.Format(time.RFC3339)))
	}
}

func (p *problems) nonNegative(field string, v int64) {
	if v < 0 {
		p.add(field + ": must not be negative")
	}
}

func (p *problems) fitsUint32(field string, v int64) {
	if v > 1<<32-1 {
		p.add(field + ": too large")
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return malformed("%s", strings.Join(p, "; "))
}

// EventsFromCommit turns a commit read from ROSTER_EVENTS at stream
// sequence seq into event records.
func EventsFromCommit(c events.Commit, seq uint64) ([]Event, error) {
	if len(c.Events) == 0 {
		return nil, malformed("commit %q of %q has no events", c.CommandID, c.GroupID)
	}
	out := make([]Event, 0, len(c.Events))
	for _, e := range c.Events {
		ev := Event{
			ID:            e.ID,
			Type:          string(e.Type),
			SchemaVersion: e.SchemaVersion,
			GroupID:       e.GroupID,
			Version:       e.Version,
			StreamSeq:     seq,
			CommandID:     e.CommandID,
			CorrelationID: e.CorrelationID,
			Actor:         e.Actor,
			OccurredAt:    e.OccurredAt,
			Data:          string(e.Data),
		}
		if ev.CommandID == "" {
			ev.CommandID = c.CommandID
		}
		if ev.GroupID == "" {
			ev.GroupID = c.GroupID
		}
		if err := Validate(ev); err != nil {
			return nil, fmt.Errorf("event %q: %w", e.ID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// commandSubjectPrefix is roster-groups' subject prefix (groups.SubjectPrefix;
// groups imports this package, not the reverse).
const commandSubjectPrefix = "roster.cmd."

// CommandFromCommit is the accepted commands row of a commit read from
// ROSTER_EVENTS: the commit is the proof the command was accepted, whatever
// the process that appended it did next (docs/adr/0025). Its id is
// "commit:<first event id>", one per commit, so a redelivered commit
// collapses to one row.
//
// hdr carries what the commit body lacks about the reception (set by
// roster-groups at append: HeaderReceivedAt, HeaderPayloadSHA256,
// HeaderPayloadSize, HeaderLatency). A commit without them (an older
// writer) gets its events' time as reception time and no payload digest; a
// header that does not parse counts as absent. ok is false for a commit
// that names no command (none roster-groups writes): it gets its events
// rows only.
func CommandFromCommit(c events.Commit, hdr map[string][]string) (cmd Command, ok bool) {
	if len(c.Events) == 0 || c.Command == "" {
		return Command{}, false
	}
	first := c.Events[0]
	cmd = Command{
		ID: "commit:" + first.ID, CommandID: c.CommandID, Subject: commandSubjectPrefix + c.Command,
		GroupID: c.GroupID, Actor: first.Actor, Outcome: OutcomeAccepted, Version: c.LastVersion(),
		ReceivedAt: first.OccurredAt.UTC(),
	}
	if cmd.GroupID == "" {
		cmd.GroupID = first.GroupID
	}
	get := func(k string) string {
		if v := hdr[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if us, err := strconv.ParseInt(get(HeaderReceivedAt), 10, 64); err == nil {
		cmd.ReceivedAt = time.UnixMicro(us).UTC()
	}
	if sum := get(HeaderPayloadSHA256); len(sum) == 64 {
		cmd.PayloadHash = sum
	}
	if n, err := strconv.Atoi(get(HeaderPayloadSize)); err == nil && n >= 0 {
		cmd.PayloadSize = n
	}
	if us, err := strconv.ParseInt(get(HeaderLatency), 10, 64); err == nil && us >= 0 {
		cmd.LatencyUS = us
	}
	if Validate(cmd) != nil {
		return Command{}, false
	}
	return cmd, true
}

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

// headerArrays returns h as parallel name/value arrays sorted by name, the
// shape the tables store headers in (18.16 has no Map).
func headerArrays(h map[string]string) (names, values []string) {
	names = make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	values = make([]string, len(names))
	for i, k := range names {
		v := h[k]
		if secretHeaders[strings.ToLower(k)] {
			v = RedactedValue
		}
		values[i] = v
	}
	return names, values
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
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
