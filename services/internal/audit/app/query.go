package app

import (
	"context"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Filter narrows an audit query. Empty fields do not filter.
type Filter struct {
	GroupID    string
	Actor      string // commands, events, endpoint changes: who
	EndpointID string // deliveries, endpoint changes
	HookID     string // policy decisions
	EventID    string // events (id), deliveries (event_id)
	EventType  string
	Status     string // commands, policy decisions: outcome; deliveries: state; endpoint changes: change
	Class      string // deliveries, policy decisions: failure_class
	// Final (deliveries): only each delivery's latest row, the state it
	// has come to, one per endpoint and event however many rows its
	// attempts, repeats and redeliveries left; Status and Class then
	// filter on that row.
	Final bool
	Since time.Time // inclusive
	Until time.Time // exclusive
	Limit int       // default DefaultLimit, at most MaxLimit
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Normalized is f with its Limit in 1..MaxLimit (DefaultLimit when unset).
func (f Filter) Normalized() Filter {
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultLimit
	case f.Limit > MaxLimit:
		f.Limit = MaxLimit
	}
	return f
}

// Queries are the read use cases of the trail (roster audit commands,
// events, deliveries, endpoints; the demo's report). Each answer shows a
// record once however many copies redeliveries stored.
type Queries struct {
	Reader TrailReader
}

// Commands lists commands, newest first (by reception time, then id).
func (q Queries) Commands(ctx context.Context, f Filter) ([]record.Command, error) {
	return q.Reader.Commands(ctx, f.Normalized())
}

// Events lists events, oldest first (by occurrence, then group and
// version: a group's history reads in order).
func (q Queries) Events(ctx context.Context, f Filter) ([]record.Event, error) {
	return q.Reader.Events(ctx, f.Normalized())
}

// Deliveries lists delivery attempts, oldest first (by start, then id):
// every HTTP request is a row, a request sent again after its dispatcher
// died marked Repeat. With f.Final it lists each delivery's latest row
// instead: per endpoint and event, the latest start, on a tie the higher
// attempt, then the repeat, then the higher id.
func (q Queries) Deliveries(ctx context.Context, f Filter) ([]record.DeliveryAttempt, error) {
	return q.Reader.Deliveries(ctx, f.Normalized())
}

// EndpointChanges lists endpoint changes, oldest first (by time, then id).
func (q Queries) EndpointChanges(ctx context.Context, f Filter) ([]record.EndpointChange, error) {
	return q.Reader.EndpointChanges(ctx, f.Normalized())
}

// PolicyDecisions lists policy hook decisions, oldest first (by decision
// time, then id): the operator console's policy page.
func (q Queries) PolicyDecisions(ctx context.Context, f Filter) ([]record.PolicyDecision, error) {
	return q.Reader.PolicyDecisions(ctx, f.Normalized())
}
