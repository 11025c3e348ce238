// Package record is the audit trail's domain: the four record types, the
// rules a record must meet to be stored (Validate), how a ROSTER_EVENTS
// commit becomes records, and the Recorder port services write the trail
// through. It does no I/O.
package record

import (
	"context"
	"time"
)

// Kind names a record type; it is the last token of the record's subject
// (roster.audit.<kind>) and selects the ClickHouse table.
type Kind string

const (
	KindCommand         Kind = "command"
	KindEvent           Kind = "event"
	KindDeliveryAttempt Kind = "delivery_attempt"
	KindEndpointChange  Kind = "endpoint_change"
	KindPolicyDecision  Kind = "policy_decision"
)

// Record is any audit record. Every record has a unique ID; the tables
// deduplicate on it, so a redelivered record never shows twice.
type Record interface {
	AuditKind() Kind
	AuditID() string
}

// Command outcomes (the commands table's outcome column; docs/audit.md).
const (
	// OutcomeAccepted: the command's commit is in ROSTER_EVENTS. Only the
	// sink writes it, from the commit itself (docs/adr/0025).
	OutcomeAccepted = "accepted"
	// OutcomeRejected: the command was answered with an error and changed
	// nothing (no append was attempted, or the only appends were definite
	// conflicts).
	OutcomeRejected = "rejected"
	// OutcomeDuplicate: the command_id was already stored; the reply
	// repeated the original outcome.
	OutcomeDuplicate = "duplicate"
	// OutcomeUncertain: the reply was an error, but an append was sent
	// whose result is unknown (timeout, lost connection, no responders) or
	// that stored the commit after all. If it was stored, the trail also
	// holds the command's accepted row.
	OutcomeUncertain = "uncertain"
)

// Command: one command received by roster-groups (rejected, duplicate or
// uncertain), or one accepted command's commit (written by the sink).
type Command struct {
	// ID is unique per reception for the rows roster-groups records, and
	// "commit:<first event id>" for an accepted row (one per commit, so a
	// redelivered commit collapses). Never the caller's command_id.
	ID          string    `json:"id"`
	CommandID   string    `json:"command_id"`
	Subject     string    `json:"subject"`
	GroupID     string    `json:"group_id"`
	Actor       string    `json:"actor"`
	Outcome     string    `json:"outcome"` // accepted | rejected | duplicate | uncertain
	ErrorCode   string    `json:"error_code,omitempty"`
	ErrorMsg    string    `json:"error_message,omitempty"`
	Version     uint64    `json:"version"` // group version after the command (0 when rejected or uncertain)
	LatencyUS   int64     `json:"latency_us"`
	ReceivedAt  time.Time `json:"received_at"`
	PayloadHash string    `json:"payload_sha256"`
	PayloadSize int       `json:"payload_size"`
}

// Event: one event appended to ROSTER_EVENTS.
type Event struct {
	ID            string    `json:"id"` // the event id
	Type          string    `json:"type"`
	SchemaVersion int       `json:"schema_version"`
	GroupID       string    `json:"group_id"`
	Version       uint64    `json:"version"`
	StreamSeq     uint64    `json:"stream_seq"`
	CommandID     string    `json:"command_id"`
	CorrelationID string    `json:"correlation_id"`
	Actor         string    `json:"actor"`
	OccurredAt    time.Time `json:"occurred_at"`
	Data          string    `json:"data"` // the event's data, JSON text
}

// DeliveryAttempt: one HTTP attempt to deliver an event to an endpoint.
type DeliveryAttempt struct {
	ID              string            `json:"id"` // attempt id
	EventID         string            `json:"event_id"`
	EventType       string            `json:"event_type"`
	GroupID         string            `json:"group_id"`
	EndpointID      string            `json:"endpoint_id"`
	URL             string            `json:"url"`
	Format          string            `json:"format"` // standard | openim
	Attempt         int               `json:"attempt"`
	Trigger         string            `json:"trigger"`         // scheduled | redelivery | resume | test
	RequestHeaders  map[string]string `json:"request_headers"` // never signatures or secrets
	RequestSize     int               `json:"request_size"`
	RequestHash     string            `json:"request_sha256"`
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"` // truncated at 64 KiB
	Success         bool              `json:"success"`
	FailureClass    string            `json:"failure_class,omitempty"`
	FailureMsg      string            `json:"failure_message,omitempty"`
	LatencyUS       int64             `json:"latency_us"`
	StartedAt       time.Time         `json:"started_at"`
	NextAttemptAt   *time.Time        `json:"next_attempt_at,omitempty"`
	State           string            `json:"state"` // succeeded | retrying | exhausted | held
	// Repeat: JetStream had handed this attempt to a dispatcher before and
	// no outcome of it was saved, so the receiver may have got this request
	// already (its holder crashed or lost its connection between the
	// request and the save). Each HTTP request is its own row.
	Repeat bool `json:"repeat"`
}

// EndpointChange: an endpoint was created, updated, paused, resumed,
// deleted or had its secret rotated. Never carries a secret.
type EndpointChange struct {
	ID         string    `json:"id"`
	EndpointID string    `json:"endpoint_id"`
	Change     string    `json:"change"` // created | updated | paused | resumed | deleted | secret_rotated
	Actor      string    `json:"actor"`  // user or "system" for automatic pauses
	Automatic  bool      `json:"automatic"`
	Reason     string    `json:"reason,omitempty"`
	GroupID    string    `json:"group_id"` // the endpoint's group filter, "" when none
	Endpoint   string    `json:"endpoint"` // the endpoint after the change, JSON, secrets removed
	At         time.Time `json:"at"`
}

// Policy decision outcomes and failure classes (policy_decisions; they
// are policy/decision's Outcome and Class, docs/policy.md).
var (
	PolicyOutcomes = []string{"allowed", "denied", "overridden", "failed", "skipped"}
	PolicyClasses  = []string{"timeout", "connect", "status", "invalid_response", "too_large", "blocked_address"}
)

// MaxPolicyResponseBody is how much of a hook's answer a policy_decisions
// row keeps.
const MaxPolicyResponseBody = 4 << 10

// PolicyDecision: one synchronous policy hook's decision on one command
// (docs/policy.md "Decisions"). CommandAuditID is the id of the command's
// row in commands when it is rejected, a duplicate or uncertain; an
// accepted command's row is written from its commit later and joins on
// CommandID.
type PolicyDecision struct {
	ID             string    `json:"id"`
	DecidedAt      time.Time `json:"decided_at"`
	HookID         string    `json:"hook_id"`
	Command        string    `json:"command"`
	CommandID      string    `json:"command_id"`
	CommandAuditID string    `json:"command_audit_id"`
	GroupID        string    `json:"group_id"`
	Actor          string    `json:"actor"`
	RequestID      string    `json:"request_id"`
	Format         string    `json:"format"`
	Outcome        string    `json:"outcome"`
	FailureClass   string    `json:"failure_class,omitempty"`
	OnFailure      string    `json:"on_failure"`
	LatencyMS      float64   `json:"latency_ms"` // microsecond precision
	ResponseStatus int       `json:"response_status"`
	ResponseBody   string    `json:"response_body"` // truncated at 4 KiB
	Code           string    `json:"code,omitempty"`
	Message        string    `json:"message,omitempty"`
	Override       string    `json:"override,omitempty"` // the applied override or patch, JSON
}

func (r PolicyDecision) AuditKind() Kind { return KindPolicyDecision }
func (r PolicyDecision) AuditID() string { return r.ID }

func (r Command) AuditKind() Kind         { return KindCommand }
func (r Event) AuditKind() Kind           { return KindEvent }
func (r DeliveryAttempt) AuditKind() Kind { return KindDeliveryAttempt }
func (r EndpointChange) AuditKind() Kind  { return KindEndpointChange }
func (r Command) AuditID() string         { return r.ID }
func (r Event) AuditID() string           { return r.ID }
func (r DeliveryAttempt) AuditID() string { return r.ID }
func (r EndpointChange) AuditID() string  { return r.ID }

// Recorder is the port services write the trail through. The production
// implementation (ports/publisher) publishes to ROSTER_AUDIT; none waits on
// ClickHouse, and none drops a record it accepted (docs/adr/0025). Its
// contract is record/recordertest.
type Recorder interface {
	// Record takes r for asynchronous storage. It waits while the
	// recorder's buffer is full (backpressure) and returns an error, with
	// r not taken, only when ctx ends first or the recorder is closed.
	Record(ctx context.Context, r Record) error
	// RecordDurable returns nil only once r is stored in ROSTER_AUDIT.
	// The record id is the message id, so calling it again after an error
	// never makes a second row.
	RecordDurable(ctx context.Context, r Record) error
}
