package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"
)

// Triggers of an attempt (audit.DeliveryAttempt.Trigger).
const (
	TriggerScheduled  = "scheduled"
	TriggerRedelivery = "redelivery"
	TriggerResume     = "resume"
	TriggerTest       = "test"
)

// Attempt states (audit.DeliveryAttempt.State and job state).
const (
	StateSucceeded = "succeeded"
	StateRetrying  = "retrying"
	StateExhausted = "exhausted"
	StateHeld      = "held"
)

// Job is one event to deliver to one endpoint: the body of a message in
// ROSTER_WEBHOOK_DELIVERIES. It carries the event itself so a delivery
// needs no read of ROSTER_EVENTS.
type Job struct {
	EndpointID string       `json:"endpoint_id"`
	Event      events.Event `json:"event"`
	// Batch holds the commit's further events this job delivers in the
	// same request as Event (openim endpoints: the other member.removed
	// events of a remove command, one afterKickGroup for all, ADR 0086).
	// The job is named after Event, the batch's first: its MsgID, state
	// key and attempt rows are Event's.
	Batch     []events.Event `json:"batch,omitempty"`
	StreamSeq uint64         `json:"stream_seq"`
	Trigger   string         `json:"trigger"`
	// Generation is "" for the fan-out's job and a fresh id for every
	// redelivery, which starts a new attempt series for the same event.
	Generation string    `json:"generation,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Refanned: the fan-out had been handed this job's commit before, so
	// an earlier copy of the job may exist (and attempt state with it).
	Refanned bool `json:"refanned,omitempty"`
}

// fresh reports whether no attempt state can exist for the job: the
// fan-out's first job for the event (its commit was handed out for the
// first time, so no other copy was ever published), delivered by
// JetStream for the first time (no earlier attempt of this message).
func (j Job) fresh(numDelivered uint64) bool {
	return numDelivered == 1 && j.Generation == "" && !j.Refanned && j.Trigger == TriggerScheduled
}

func (j Job) MsgID() string {
	id := j.EndpointID + ":" + j.Event.ID
	if j.Generation != "" {
		id += ":" + j.Generation
	}
	return id
}

// stateKey is the job state's KV key. Event ids are UUIDs, always valid
// key tokens; anything else is hashed rather than rejected.
func (j Job) StateKey() string {
	id := j.Event.ID
	if events.ValidateID("event id", id) != nil {
		sum := sha256.Sum256([]byte(id))
		id = "h" + hex.EncodeToString(sum[:16])
	}
	return j.EndpointID + "." + id
}

// JobState is the durable attempt state of (endpoint, event).
type JobState struct {
	Generation    string     `json:"generation,omitempty"`
	Attempts      int        `json:"attempts"`
	State         string     `json:"state"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastClass     string     `json:"last_class,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// Seq and Delivery name the job message (stream sequence) and the
	// JetStream delivery of it that saved this state: deliveries of that
	// message after Delivery that saved nothing may have sent the next
	// attempt already (repeat detection, ADR 0026).
	Seq      uint64 `json:"seq,omitempty"`
	Delivery uint64 `json:"delivery,omitempty"`
}

func (s JobState) terminal() bool { return s.State == StateSucceeded || s.State == StateExhausted }

// savedDelivery is the delivery of job message seq whose outcome this
// state saved; 0 when the state is another message's (a re-fanned copy of
// the job) or has none, so every earlier delivery of seq counts.
func (s JobState) savedDelivery(seq uint64) uint64 {
	if s.Seq != seq {
		return 0
	}
	return s.Delivery
}

// attemptID names one HTTP request: an attempt of a series as sent by one
// JetStream delivery of its job. It is deterministic, so a record
// published twice for the same request (a retried publish) is one row,
// while the same attempt repeated by a later delivery (after a crash
// before its outcome was saved) is a row of its own (ADR 0026).
func attemptID(j Job, attempt int, delivery uint64) string {
	sum := sha256.Sum256([]byte(j.EndpointID + "\x00" + j.Event.ID + "\x00" + j.Generation + "\x00" + strconv.Itoa(attempt) +
		"\x00" + strconv.FormatUint(delivery, 10)))
	return "att_" + hex.EncodeToString(sum[:16])
}

// OutJob is a job ready for its endpoint's queue.
type OutJob struct {
	EndpointID string
	GroupID    string
	// MsgID deduplicates the job in the queue (endpoint:event[:generation]).
	MsgID string
	Body  []byte
	// Ordered: the endpoint delivers each group's events in order, so
	// the fan-out stores this job only after the group's earlier ones.
	Ordered bool
}

func (j Job) out(ordered bool) (OutJob, error) {
	body, err := json.Marshal(j)
	if err != nil {
		return OutJob{}, err
	}
	return OutJob{EndpointID: j.EndpointID, GroupID: j.Event.GroupID, MsgID: j.MsgID(), Body: body, Ordered: ordered}, nil
}
