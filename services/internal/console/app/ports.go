// Package app holds the operator console's use cases: one file per page
// (overview.go, endpoint.go, group.go, events.go, policy.go) and the
// actions (actions.go). It owns the small interfaces it reads Roster
// through (this file); console/adapters implements them with the services'
// NATS requests, the event store's reader and the audit queries, and
// console/ports/web renders what the use cases return. No use case keeps
// state of its own: every page is read from Roster's sources of truth
// (docs/adr/0096).
package app

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/events"
	auditapp "github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Webhooks is roster-webhooks as the console uses it: the same requests the
// roster webhook verbs send. Mutating calls name the actor the service
// records.
type Webhooks interface {
	List(ctx context.Context) ([]endpoint.Endpoint, error)
	Get(ctx context.Context, id string) (endpoint.Endpoint, error)
	Create(ctx context.Context, actor string, e NewEndpoint) (endpoint.Endpoint, string, error)
	Delete(ctx context.Context, actor, id, reason string) error
	Pause(ctx context.Context, actor, id, reason string) error
	Resume(ctx context.Context, actor, id string) error
	Test(ctx context.Context, actor, id string) (TestResult, error)
	Redeliver(ctx context.Context, actor string, r RedeliverRange) (RedeliverResult, error)
	RotateSecret(ctx context.Context, actor, id string) (string, error)
}

// Membership is roster-query: a group's info, its members (now or at a
// past version) and its changes.
type Membership interface {
	Group(ctx context.Context, id string) (GroupInfo, error)
	Members(ctx context.Context, id string, atVersion uint64, cursor string, limit int) (MembersPage, error)
	Changes(ctx context.Context, id string, sinceVersion uint64, limit int) ([]events.Event, bool, error)
}

// Status is what the overview reads about the stack itself.
type Status interface {
	// Services pings each micro service by name.
	Services(ctx context.Context, names []string) []ServiceStatus
	Projection(ctx context.Context) (Projection, error)
	// AuditLag is how many messages the audit sink has not yet written.
	AuditLag(ctx context.Context) (AuditLag, error)
	// QueueDepth is an endpoint's queued plus in-flight deliveries.
	QueueDepth(ctx context.Context, endpointID string) (uint64, error)
}

// Filter narrows a trail query (the audit trail's own filter).
type Filter = auditapp.Filter

// Trail is the audit trail's queries (audit.Queries).
type Trail interface {
	Commands(ctx context.Context, f Filter) ([]record.Command, error)
	Events(ctx context.Context, f Filter) ([]record.Event, error)
	Deliveries(ctx context.Context, f Filter) ([]record.DeliveryAttempt, error)
	EndpointChanges(ctx context.Context, f Filter) ([]record.EndpointChange, error)
	PolicyDecisions(ctx context.Context, f Filter) ([]record.PolicyDecision, error)
}

// EventLog reads ROSTER_EVENTS in stream order (the event store's range
// reader). Read calls fn with each event of the range and returns at its
// end; fn returning ErrStop ends it early without an error.
type EventLog interface {
	Read(ctx context.Context, r EventRange, fn func(seq uint64, e events.Event) error) error
	// LastSeq is the stream's last sequence.
	LastSeq(ctx context.Context) (uint64, error)
}

// ErrStop ends an EventLog.Read early.
var ErrStop = errors.New("stop reading")

// EventRange selects events for EventLog.Read: FromSeq..ToSeq inclusive
// (ToSeq 0: to the last stored when the read starts), one group or all.
type EventRange struct {
	GroupID string
	FromSeq uint64
	ToSeq   uint64
}

// ServiceStatus is one micro service's answer to a ping.
type ServiceStatus struct {
	Name string
	Up   bool
	// Detail is why it is not up ("no instance", a timeout).
	Detail string
}

// Projection is the membership projection's position.
type Projection struct {
	Generation    uint64
	Bucket        string
	StreamLastSeq uint64
	AppliedSeq    uint64
	Lag           uint64
	Rebuilding    bool
}

// AuditLag is what the audit sink's durable consumers still hold: records
// on ROSTER_AUDIT and commits on ROSTER_EVENTS not yet in ClickHouse.
type AuditLag struct {
	Records uint64
	Commits uint64
}

// GroupInfo is roster.query.group's reply, as the console shows it.
type GroupInfo struct {
	GroupID     string    `json:"group_id"`
	Name        string    `json:"name"`
	Intro       string    `json:"intro,omitempty"`
	JoinPolicy  string    `json:"join_policy"`
	Owner       string    `json:"owner"`
	Muted       bool      `json:"muted"`
	Dismissed   bool      `json:"dismissed"`
	MemberCount int       `json:"member_count"`
	Version     uint64    `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Member is one member of a group.
type Member struct {
	UserID        string    `json:"user_id"`
	Role          string    `json:"role"`
	JoinedAt      time.Time `json:"joined_at"`
	JoinedVersion uint64    `json:"joined_version"`
	Inviter       string    `json:"inviter,omitempty"`
}

// MembersPage is one page of roster.query.members.
type MembersPage struct {
	Version    uint64   `json:"version"`
	AtVersion  uint64   `json:"at_version,omitempty"`
	Members    []Member `json:"members"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// NewEndpoint is what the console's create form sends.
type NewEndpoint struct {
	ID          string
	URL         string
	Description string
	EventTypes  []string
	GroupIDs    []string
	Format      string
	Ordered     bool
}

// TestResult is roster.webhook.endpoint.test's reply.
type TestResult struct {
	Success      bool   `json:"success"`
	Status       int    `json:"status,omitempty"`
	FailureClass string `json:"failure_class,omitempty"`
	FailureMsg   string `json:"failure_message,omitempty"`
	LatencyMS    int64  `json:"latency_ms"`
	WebhookID    string `json:"webhook_id"`
	ResponseBody string `json:"response_body,omitempty"`
}

// RedeliverRange is what the redeliver form sends: one of Since/SinceSeq,
// optionally Until/UntilSeq.
type RedeliverRange struct {
	EndpointID string
	Since      time.Time
	SinceSeq   uint64
	Until      time.Time
	UntilSeq   uint64
}

// RedeliverResult is roster.webhook.redeliver's reply.
type RedeliverResult struct {
	Enqueued     int    `json:"enqueued"`
	Scanned      int    `json:"scanned_commits"`
	FirstSeq     uint64 `json:"first_seq,omitempty"`
	LastSeq      uint64 `json:"last_seq,omitempty"`
	Truncated    bool   `json:"truncated"`
	NextSinceSeq uint64 `json:"next_since_seq,omitempty"`
}

// ServiceError is an error reply of a Roster service: its wire code and
// message, shown to the operator as they are.
type ServiceError struct {
	Subject string
	Code    string
	Message string
}

func (e *ServiceError) Error() string { return e.Subject + ": " + e.Code + ": " + e.Message }

// Is makes a not_found reply match ErrNotFound.
func (e *ServiceError) Is(target error) bool {
	return target == ErrNotFound && e.Code == string(events.CodeNotFound)
}

// ErrNotFound: the endpoint or group does not exist.
var ErrNotFound = errors.New("not found")
