package audit

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/wait"
)

// The domain's names, re-exported: services import package audit only.
// The types are defined, documented and validated in package record.
type (
	Kind            = record.Kind
	Record          = record.Record
	Command         = record.Command
	Event           = record.Event
	DeliveryAttempt = record.DeliveryAttempt
	EndpointChange  = record.EndpointChange
	PolicyDecision  = record.PolicyDecision
	Recorder        = record.Recorder
)

const (
	KindCommand         = record.KindCommand
	KindEvent           = record.KindEvent
	KindDeliveryAttempt = record.KindDeliveryAttempt
	KindEndpointChange  = record.KindEndpointChange
	KindPolicyDecision  = record.KindPolicyDecision

	OutcomeAccepted  = record.OutcomeAccepted
	OutcomeRejected  = record.OutcomeRejected
	OutcomeDuplicate = record.OutcomeDuplicate
	OutcomeUncertain = record.OutcomeUncertain

	// Headers roster-groups sets on a commit message so that the sink can
	// write the command's accepted row from the commit alone; their names
	// live with the event store's reader of commits.
	HeaderReceivedAt    = eventstore.HeaderReceivedAt
	HeaderPayloadSHA256 = eventstore.HeaderPayloadSHA256
	HeaderPayloadSize   = eventstore.HeaderPayloadSize
	HeaderLatency       = eventstore.HeaderLatency

	StreamName              = record.StreamName
	SubjectPrefix           = record.SubjectPrefix
	DeadLetterSubject       = record.DeadLetterSubject
	HeaderDeadLetterReason  = record.HeaderDeadLetterReason
	HeaderDeadLetterSubject = record.HeaderDeadLetterSubject
	HeaderDeadLetterStream  = record.HeaderDeadLetterStream
	HeaderDeadLetterSeq     = record.HeaderDeadLetterSeq

	MaxResponseBody = record.MaxResponseBody
	RedactedValue   = record.RedactedValue
)

// Policy hook changes (roster-policy).
type PolicyHookChange = record.PolicyHookChange

const KindPolicyHookChange = record.KindPolicyHookChange

// ErrMalformed marks a record the sink can never write (record.ErrMalformed).
var ErrMalformed = record.ErrMalformed

// Subject is the subject records of kind k are published on.
func Subject(k Kind) string { return record.Subject(k) }

// Validate reports every reason r cannot be stored, wrapped in ErrMalformed.
func Validate(r Record) error { return record.Validate(r) }

// durableRetry paces StoreDurably: a JetStream leader election or a lost
// ack is usually over within a second or two.
var durableRetry = app.Backoff{Min: 20 * time.Millisecond, Max: 250 * time.Millisecond}

// StoreDurably calls rec.RecordDurable until it succeeds or ctx ends (the
// caller's bound on how long its reply may wait). The record id is the
// message id, so a retry after a lost ack never makes a second row.
func StoreDurably(ctx context.Context, rec Recorder, r Record) error {
	policy := durableRetry.Policy()
	clock := clockwork.NewRealClock()
	for {
		err := rec.RecordDurable(ctx, r)
		if err == nil {
			return nil
		}
		if wait.For(ctx, clock, policy.NextBackOff()) != nil {
			return err
		}
	}
}

// Nop discards records (tests of one service that do not look at the trail).
type Nop struct{}

// Record implements Recorder.
func (Nop) Record(context.Context, Record) error { return nil }

// RecordDurable implements Recorder.
func (Nop) RecordDurable(context.Context, Record) error { return nil }

// EventsFromCommit turns a commit read from ROSTER_EVENTS at stream
// sequence seq into event records (record.EventsFromCommit).
func EventsFromCommit(c events.Commit, seq uint64) ([]Event, error) {
	return record.EventsFromCommit(c, seq)
}

// CommandFromCommit is the accepted commands row of a commit whose message
// carried the headers hdr (record.CommandFromCommit; the headers parsed by
// eventstore.ReceptionOf).
func CommandFromCommit(c events.Commit, hdr map[string][]string) (Command, bool) {
	return record.CommandFromCommit(c, reception(eventstore.ReceptionOf(nats.Header(hdr))))
}

func reception(r eventstore.Reception) record.Reception {
	return record.Reception{ReceivedAt: r.ReceivedAt, PayloadSHA256: r.PayloadSHA256, PayloadSize: r.PayloadSize, LatencyUS: r.LatencyUS}
}
