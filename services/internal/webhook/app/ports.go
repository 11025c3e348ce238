package app

import (
	"context"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// EndpointStore keeps endpoints durably. Implementations are safe for
// concurrent use, return endpoints with plaintext secrets (in memory only:
// at rest they are sealed when the store has a keyring) and report
// failures with the endpoint package's errors (ErrNotFound, ErrExists,
// ErrContention, ErrNoKey), wrapped. Revisions grow with every write to
// the store; an EndpointView that reached a revision reflects that write.
// endpointtest.Run is the contract every implementation passes.
type EndpointStore interface {
	// Create stores a new endpoint; ErrExists when the id is taken.
	Create(ctx context.Context, e endpoint.Endpoint) (rev uint64, err error)
	// Get returns an endpoint and its revision; ErrNotFound when absent.
	Get(ctx context.Context, id string) (endpoint.Endpoint, uint64, error)
	// List returns every endpoint, sorted by id.
	List(ctx context.Context) ([]endpoint.Endpoint, error)
	// Update applies fn to the current endpoint and writes the result if
	// nobody changed the endpoint meanwhile, calling fn again on a lost
	// race (ErrContention after a few). fn's error aborts the update and
	// is returned; endpoint.ErrNoChange writes nothing and returns the
	// endpoint with changed false and a nil error.
	Update(ctx context.Context, id string, fn func(*endpoint.Endpoint) error) (e endpoint.Endpoint, rev uint64, changed bool, err error)
	// Delete removes an endpoint and returns what it was (the version
	// deleted, should it change meanwhile); ErrNotFound when absent.
	Delete(ctx context.Context, id string) (endpoint.Endpoint, error)
}

// EndpointView is this process's current view of the endpoints (the
// fan-out and the workers read it on every job, so it is in memory). It
// lags the store briefly; the Wait methods give read-your-writes.
type EndpointView interface {
	Get(id string) (endpoint.Endpoint, bool)
	All() []endpoint.Endpoint // sorted by id
	// WaitRevision blocks until the view has seen store revision rev.
	WaitRevision(ctx context.Context, rev uint64) error
	// WaitGone blocks until the view no longer holds id.
	WaitGone(ctx context.Context, id string) error
}

// Sender makes one HTTP attempt (the SSRF guard is the sender's: it
// refuses addresses the operator did not allow). It never returns an
// error: a failure is a Response with Err and its Class.
type Sender interface {
	Do(ctx context.Context, req delivery.Request) delivery.Response
}

// AuditRecorder stores audit records (audit.Recorder is the real one).
type AuditRecorder interface {
	// Record takes r for asynchronous storage, waiting while the buffer is
	// full; an error means r was not taken.
	Record(ctx context.Context, r audit.Record) error
	// RecordDurable returns nil only once r is stored; calling it again
	// after an error never makes a second row (the record id is the
	// message id).
	RecordDurable(ctx context.Context, r audit.Record) error
}

// Alerter tells operators, by another channel than the webhook, that an
// endpoint was paused automatically.
type Alerter interface {
	EndpointPaused(ctx context.Context, a Alert) error
}

// Alert is what Alerter carries (published as JSON on
// roster.alerts.webhook.endpoint_paused).
type Alert struct {
	EndpointID string    `json:"endpoint_id"`
	URL        string    `json:"url"`
	Reason     string    `json:"reason"`
	PausedAt   time.Time `json:"paused_at"`
}

// Commit is one commit of ROSTER_EVENTS as the use cases read it: its
// stream sequence and time, and its events, upcast to their current
// schema version (an event that cannot be upcast is kept as stored).
type Commit struct {
	Seq    uint64
	Time   time.Time
	Events []events.Event
}

// EventReader reads ROSTER_EVENTS.
type EventReader interface {
	// LastSeq is the stream's last sequence (0: empty).
	LastSeq(ctx context.Context) (uint64, error)
	// Commits calls fn with each commit from the start of r on, in
	// stream order, until fn returns false or an error, or the range is
	// read. A commit that cannot be decoded is skipped (and logged).
	Commits(ctx context.Context, r SeqRange, fn func(Commit) (bool, error)) error
}

// SeqRange selects commits: from FromSeq, or from the first stored at or
// after FromTime when FromSeq is 0, up to LastSeq inclusive.
type SeqRange struct {
	FromSeq  uint64
	FromTime *time.Time
	LastSeq  uint64
}

// JobQueue stores delivery jobs in their endpoint's queue.
type JobQueue interface {
	// Enqueue stores one job; a job with the same MsgID stored within the
	// queue's duplicate window is stored once.
	Enqueue(ctx context.Context, j OutJob) error
	// Head returns the oldest job still queued on subject (an endpoint
	// and group): its queue sequence and body; ok false when none.
	Head(ctx context.Context, subject string) (seq uint64, body []byte, ok bool, err error)
}

// JobStates keeps each (endpoint, event) attempt series' state.
type JobStates interface {
	// Get returns the state and its revision (0 and a zero state when
	// absent).
	Get(ctx context.Context, key string) (JobState, uint64, error)
	// Put writes st if key is still at rev (0: absent);
	// ErrStateConflict when it is not.
	Put(ctx context.Context, key string, st JobState, rev uint64) error
}

// JobMsg is one delivery job as the queue hands it over: held by this
// process until it is settled by exactly one of Ack, DoubleAck, Nak,
// NakWithDelay or Term.
type JobMsg interface {
	Subject() string
	Data() []byte
	// Seq is the job's queue sequence; NumDelivered counts the queue's
	// deliveries of it, this one included.
	Seq() uint64
	NumDelivered() uint64
	Ack() error
	// DoubleAck returns once the queue confirmed the acknowledgement.
	DoubleAck(ctx context.Context) error
	Nak() error
	NakWithDelay(d time.Duration) error
	Term() error
}
