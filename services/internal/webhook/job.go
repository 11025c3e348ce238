package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

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
	// ServiceName is the micro service.
	ServiceName = "roster-webhooks"
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

// DeliverySubject is the subject of endpointID's jobs for groupID.
func DeliverySubject(endpointID, groupID string) string {
	return DeliverySubjectPrefix + endpointID + "." + groupID
}

func consumerName(endpointID string) string { return "wh_" + endpointID }

// job is one event to deliver to one endpoint: the body of a message in
// ROSTER_WEBHOOK_DELIVERIES. It carries the event itself so a delivery
// needs no read of ROSTER_EVENTS.
type job struct {
	EndpointID string       `json:"endpoint_id"`
	Event      events.Event `json:"event"`
	StreamSeq  uint64       `json:"stream_seq"`
	Trigger    string       `json:"trigger"`
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
func (j job) fresh(numDelivered uint64) bool {
	return numDelivered == 1 && j.Generation == "" && !j.Refanned && j.Trigger == TriggerScheduled
}

func (j job) msgID() string {
	id := j.EndpointID + ":" + j.Event.ID
	if j.Generation != "" {
		id += ":" + j.Generation
	}
	return id
}

// stateKey is the job state's KV key. Event ids are UUIDs, always valid
// key tokens; anything else is hashed rather than rejected.
func (j job) stateKey() string {
	id := j.Event.ID
	if events.ValidateID("event id", id) != nil {
		sum := sha256.Sum256([]byte(id))
		id = "h" + hex.EncodeToString(sum[:16])
	}
	return j.EndpointID + "." + id
}

// jobState is the durable attempt state of (endpoint, event).
type jobState struct {
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

func (s jobState) terminal() bool { return s.State == StateSucceeded || s.State == StateExhausted }

// savedDelivery is the delivery of job message seq whose outcome this
// state saved; 0 when the state is another message's (a re-fanned copy of
// the job) or has none, so every earlier delivery of seq counts.
func (s jobState) savedDelivery(seq uint64) uint64 {
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
func attemptID(j job, attempt int, delivery uint64) string {
	sum := sha256.Sum256([]byte(j.EndpointID + "\x00" + j.Event.ID + "\x00" + j.Generation + "\x00" + strconv.Itoa(attempt) +
		"\x00" + strconv.FormatUint(delivery, 10)))
	return "att_" + hex.EncodeToString(sum[:16])
}

// jobStore reads and writes job state with compare-and-set.
type jobStore struct{ kv jetstream.KeyValue }

var errStateConflict = errors.New("job state changed concurrently")

func (s jobStore) get(ctx context.Context, key string) (jobState, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return jobState{}, 0, nil
	}
	if err != nil {
		return jobState{}, 0, fmt.Errorf("job state %s: %w", key, err)
	}
	var st jobState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return jobState{}, 0, fmt.Errorf("job state %s: %w", key, err)
	}
	return st, e.Revision(), nil
}

// put writes st if the key is still at rev (0: absent).
func (s jobStore) put(ctx context.Context, key string, st jobState, rev uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, key, b)
	} else {
		_, err = s.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return errStateConflict
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return errStateConflict
	}
	return err
}

// provision creates the deliveries stream, the jobs bucket and the poison
// stream when missing.
func provision(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, jetstream.KeyValue, error) {
	deliveries, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeliveriesStream,
		Description: "Roster webhook delivery jobs: one subject per endpoint and group, work queue",
		Subjects:    []string{DeliverySubjectPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  2 * time.Minute,
		Discard:     jetstream.DiscardNew,
		AllowDirect: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("provision %s: %w", DeliveriesStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        PoisonStream,
		Description: "Commits the webhook fan-out could not read (inspect, fix, replay by redeliver)",
		Subjects:    []string{PoisonSubject},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		MaxAge:      30 * 24 * time.Hour,
	}); err != nil {
		return nil, nil, fmt.Errorf("provision %s: %w", PoisonStream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      JobsBucket,
		Description: "Roster webhook attempt state per endpoint and event",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		TTL:         cfg.JobStateTTL,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("provision %s: %w", JobsBucket, err)
	}
	return deliveries, kv, nil
}
