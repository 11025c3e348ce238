package webhook

import (
	"github.com/rosterhq/roster/services/internal/webhook/adapters/jsqueue"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/ports"
)

// Public names (contract), defined where they are used and gathered here
// for callers of the dispatcher.
const (
	ServiceName           = ports.ServiceName
	SubjectPrefix         = ports.SubjectPrefix
	SubjectRedeliver      = ports.SubjectRedeliver
	MaxRequestBytes       = ports.MaxRequestBytes
	MaxConcurrentTests    = ports.MaxConcurrentTests
	DefaultRotationGrace  = app.DefaultRotationGrace
	MaxReasonLen          = app.MaxReasonLen
	DeliveriesStream      = jsqueue.DeliveriesStream
	DeliverySubjectPrefix = jsqueue.DeliverySubjectPrefix
	JobsBucket            = jsqueue.JobsBucket
	PoisonStream          = jsqueue.PoisonStream
	PoisonSubject         = jsqueue.PoisonSubject
	AlertPausedSubject    = jsqueue.AlertPausedSubject
	FanoutDurable         = jsqueue.FanoutDurable

	TriggerScheduled  = app.TriggerScheduled
	TriggerRedelivery = app.TriggerRedelivery
	TriggerResume     = app.TriggerResume
	TriggerTest       = app.TriggerTest

	StateSucceeded = app.StateSucceeded
	StateRetrying  = app.StateRetrying
	StateExhausted = app.StateExhausted
	StateHeld      = app.StateHeld
)

// Verbs lists the endpoint verbs (roster.webhook.endpoint.<verb>).
var Verbs = ports.Verbs

// DeliverySubject is the subject of endpointID's jobs for groupID.
func DeliverySubject(endpointID, groupID string) string {
	return jsqueue.DeliverySubject(endpointID, groupID)
}

// The requests and replies of roster-webhooks.
type (
	CreateRequest    = app.CreateRequest
	UpdateRequest    = app.UpdateRequest
	IDRequest        = app.IDRequest
	RotateRequest    = app.RotateRequest
	RedeliverRequest = app.RedeliverRequest
	EndpointReply    = app.EndpointReply
	ListReply        = app.ListReply
	TestReply        = app.TestReply
	RedeliverReply   = app.RedeliverReply
	// Alert is published on AlertPausedSubject when an endpoint is
	// paused automatically.
	Alert = app.Alert
)
