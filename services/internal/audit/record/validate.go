package record

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrMalformed marks a record the sink can never write: not JSON, unknown
// fields, an unknown kind, or values the tables cannot hold. Such a record
// goes to the dead-letter subject with the error as its reason.
var ErrMalformed = errors.New("malformed audit record")

// Malformed is an ErrMalformed with a reason (the dead letter's reason).
func Malformed(format string, args ...any) error {
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

// Validate reports every reason r cannot be stored, wrapped in ErrMalformed.
func Validate(r Record) error {
	var p problems
	p.id("id", r.AuditID())
	switch r := r.(type) {
	case PolicyHookChange:
		p.nonEmpty("hook_id", r.HookID)
		p.oneOf("change", r.Change, "created", "updated", "deleted")
		p.nonEmpty("actor", r.Actor)
		p.time("at", r.At)
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
	case PolicyDecision:
		p.nonEmpty("hook_id", r.HookID)
		p.nonEmpty("command", r.Command)
		p.oneOf("outcome", r.Outcome, PolicyOutcomes...)
		if r.Outcome == "failed" || r.FailureClass != "" {
			p.oneOf("failure_class", r.FailureClass, PolicyClasses...)
		}
		p.oneOf("on_failure", r.OnFailure, "allow", "deny")
		if r.ResponseStatus < 0 || r.ResponseStatus > 999 {
			p.add("response_status: must be 0 (no response) or an HTTP status")
		}
		if r.LatencyMS < 0 {
			p.add("latency_ms: must not be negative")
		}
		p.time("decided_at", r.DecidedAt)
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
	return Malformed("%s", strings.Join(p, "; "))
}
