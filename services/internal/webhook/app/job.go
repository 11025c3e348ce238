package app

import (
	"crypto/sha256"
	"encoding/hex"
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
	// More holds the further units of a batched job: the group's next
	// events this endpoint wants from the same fan-out batch, in stream
	// order, each delivered in a request of its own (ADR 0104). A job
	// without More is one unit, as every job was before batching, so jobs
	// queued by an older dispatcher decode unchanged.
	More []Unit `json:"more,omitempty"`
	// Retry: the job continues units of an earlier job (a failed unit of
	// a batch, or what a stopping dispatcher left undone), so attempt
	// state may exist for every unit.
	Retry bool `json:"retry,omitempty"`
}

// Unit is one request's worth of a job: an event and the events batched
// with it in the same request (openim kicks).
type Unit struct {
	Event     events.Event   `json:"event"`
	Batch     []events.Event `json:"batch,omitempty"`
	StreamSeq uint64         `json:"stream_seq"`
}

// Units returns the job's units in delivery order: its first (Event,
// Batch) and then More.
func (j Job) Units() []Unit {
	out := make([]Unit, 0, 1+len(j.More))
	out = append(out, Unit{Event: j.Event, Batch: j.Batch, StreamSeq: j.StreamSeq})
	return append(out, j.More...)
}

// one is the single-unit job of unit u: its MsgID, state key and attempt
// ids are those a job of u alone has, so a unit keeps its webhook-id,
// state and attempt rows whichever job carries it.
func (j Job) one(u Unit) Job {
	o := j
	o.Event, o.Batch, o.StreamSeq, o.More = u.Event, u.Batch, u.StreamSeq, nil
	return o
}

// withUnits returns j carrying units (at least one) instead of its own.
func (j Job) withUnits(us []Unit) Job {
	o := j.one(us[0])
	if len(us) > 1 {
		o.More = append([]Unit(nil), us[1:]...)
	}
	return o
}

// fresh reports whether no attempt state can exist for the job: the
// fan-out's first job for the event (its commit was handed out for the
// first time, so no other copy was ever published), delivered by
// JetStream for the first time (no earlier attempt of this message).
func (j Job) fresh(numDelivered uint64) bool {
	return numDelivered == 1 && j.Generation == "" && !j.Refanned && !j.Retry && j.Trigger == TriggerScheduled
}

// MsgID deduplicates the job in its queue. A single-unit job is named
// after its event (endpoint:event[:generation]), as before batching; a
// batched one also by a digest of every unit's event id, so two batches
// that start at the same event but hold different events are never taken
// for one. A retry job (Retry) is named apart from the job it continues.
func (j Job) MsgID() string {
	id := j.EndpointID + ":" + j.Event.ID
	if j.Generation != "" {
		id += ":" + j.Generation
	}
	if len(j.More) > 0 {
		h := sha256.New()
		h.Write([]byte(j.Event.ID))
		for _, u := range j.More {
			h.Write([]byte{0})
			h.Write([]byte(u.Event.ID))
		}
		id += ":b" + hex.EncodeToString(h.Sum(nil)[:12])
	}
	if j.Retry {
		id += ":r"
	}
	return id
}

// progressKey is the state key of a batched job's progress: how many of
// its units are settled (ordered endpoints, ADR 0104). It has three
// tokens, so it never meets a unit's state key (two).
func (j Job) progressKey() string {
	sum := sha256.Sum256([]byte(j.MsgID()))
	return j.EndpointID + ".p" + hex.EncodeToString(sum[:16]) + ".progress"
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
	// Done is a batched job's progress (under its progressKey): its first
	// Done units are settled and are not sent again.
	Done int `json:"done,omitempty"`
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
	// Units is how many requests the job carries (1 unless batched):
	// roster_webhook_jobs_enqueued_total counts them, as it counted jobs
	// before batching.
	Units int
}

func (j Job) out(ordered bool) (OutJob, error) {
	body, err := encodeJob(j)
	if err != nil {
		return OutJob{}, err
	}
	return OutJob{EndpointID: j.EndpointID, GroupID: j.Event.GroupID, MsgID: j.MsgID(), Body: body, Ordered: ordered, Units: 1 + len(j.More)}, nil
}
