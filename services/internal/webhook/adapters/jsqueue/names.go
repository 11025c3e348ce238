// Package jsqueue is the dispatcher's JetStream side: the work queue
// ROSTER_WEBHOOK_DELIVERIES with one durable consumer per endpoint (the
// workers), the attempt state bucket ROSTER_WEBHOOK_JOBS, the fan-out's
// pinned consumer on ROSTER_EVENTS, the reader of ROSTER_EVENTS commits,
// the poison stream and the paused-endpoint alert. It moves messages and
// settles them; what a message means is decided by the app package, whose
// interfaces (JobQueue, JobStates, JobMsg, EventReader, Alerter) it
// implements.
package jsqueue

import "time"

// Public names (contract).
const (
	// DeliveriesStream is the work queue of delivery jobs.
	DeliveriesStream = "ROSTER_WEBHOOK_DELIVERIES"
	// DeliverySubjectPrefix + <endpoint_id>.<group_id> is a job's subject.
	DeliverySubjectPrefix = "roster.webhook.delivery."
	// JobsBucket holds per-(endpoint, event) attempt state.
	JobsBucket = "ROSTER_WEBHOOK_JOBS"
	// PoisonStream and PoisonSubject keep commits the fan-out cannot read.
	PoisonStream  = "ROSTER_WEBHOOK_POISON"
	PoisonSubject = "roster.webhook.poison"
	// AlertPausedSubject carries an alert when an endpoint is paused
	// automatically.
	AlertPausedSubject = "roster.alerts.webhook.endpoint_paused"
	// FanoutDurable is the fan-out consumer on ROSTER_EVENTS.
	FanoutDurable = "roster_webhook_fanout"
)

// DeliverySubject is the subject of endpointID's jobs for groupID.
func DeliverySubject(endpointID, groupID string) string {
	return DeliverySubjectPrefix + endpointID + "." + groupID
}

// ConsumerName is endpoint id's durable consumer on DeliveriesStream.
func ConsumerName(endpointID string) string { return "wh_" + endpointID }

// duplicateWindow is the deliveries stream's deduplication window.
const duplicateWindow = 2 * time.Minute
