package app

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// EventStore is what the command side needs from the event store.
// eventstore.Store on JetStream implements it (wrapped by
// adapters.EventStore, which names a too-large append ErrTooLarge), and
// eventstore/storetest is its contract: storetest.Store is this interface
// plus LastSeq. Load answers with what the stream leader holds, so a
// command is never rejected on a lagging replica's copy. Safe for
// concurrent use.
type EventStore interface {
	// Append stores c if its group's last commit is still at expectedSeq
	// (0: none); an error matching eventstore.ErrConflict otherwise. A
	// commit already stored under its command id answers Duplicate.
	Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error)
	// Load calls fn with each commit of the group after afterSeq, in order,
	// and returns the sequence of the last one.
	Load(ctx context.Context, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error)
	// Get reads the commit stored at seq (a duplicate's original reply).
	Get(ctx context.Context, seq uint64) (eventstore.Stored, error)
}

// ErrTooLarge marks an append refused because the commit does not fit in
// one message of the store: definite (it was not stored and never will
// fit), unlike a transport failure.
var ErrTooLarge = errors.New("commit larger than the store accepts in one message")

// SnapshotStore keeps the latest snapshot of each group: an optimisation
// only, the events are the truth. adapters.ObjectSnapshots (JetStream
// object store ROSTER_SNAPSHOTS) and adapters.MemorySnapshots implement it;
// app/snapshottest is its contract. Safe for concurrent use.
type SnapshotStore interface {
	// Get returns the group's last snapshot; an error matching
	// ErrNoSnapshot when there is none. Any other error (unreadable,
	// corrupt, another format) makes the caller load from the events. The
	// caller owns what Get returns.
	Get(ctx context.Context, groupID string) (*Aggregate, error)
	// Put replaces the group's snapshot with a. The store keeps no
	// reference to a after Put returns.
	Put(ctx context.Context, a *Aggregate) error
}

// ErrNoSnapshot means the group has no snapshot.
var ErrNoSnapshot = errors.New("no snapshot")

// AuditRecorder stores the trail's records (audit.Publisher implements it;
// audit.Nop discards). The command side stores only the outcomes that are
// not acceptances, with audit.StoreDurably, before the caller is answered.
type AuditRecorder = audit.Recorder

// Policy runs the synchronous policy hooks of a command before the domain
// decides it (docs/policy.md); the wiring adapts policy/app's Checker.
// Check is called outside every lock, with a copy of the group's state.
type Policy interface {
	// Guards reports whether any hook guards command.
	Guards(command string) bool
	// Check asks the command's hooks. An error is the command's rejection
	// (policy_denied, policy_unavailable, or the domain's refusal of an
	// override); otherwise the verdict's command is what to decide.
	Check(ctx context.Context, in PolicyInput) (PolicyVerdict, error)
}

// PolicyInput is one command for the hooks.
type PolicyInput struct {
	// AuditID is the command's audit row id (audit.Command.ID).
	AuditID   string
	GroupID   string
	Actor     string
	CommandID string
	Command   group.Command
	// State is a copy of the group's state the hooks are asked on; the
	// policy must not keep or change it. Its Members hold the actor only
	// and its Pending nothing: the hooks are told the counts (Members,
	// Pending), and copying every member of a large group for each
	// guarded command would cost more than the call.
	State *group.State
	// Members and Pending count the group's members and pending join
	// requests.
	Members, Pending int
}

// PolicyVerdict is what the hooks let through.
type PolicyVerdict struct {
	Command group.Command
	// Holds reports whether the hooks would be asked the same on another
	// state of the group (nil: always).
	Holds func(*group.State) bool
}

// CallerPolicy decides whether the caller of the request in ctx may act as
// actor (docs/adr/0053): the port puts the caller NATS attests into ctx and
// ports.Callers implements the policy. A refusal is a forbidden error.
type CallerPolicy interface {
	Admit(ctx context.Context, actor string) error
}

// AsyncAppender is an event store that can append without a goroutine
// waiting for the ack (eventstore.Store.AppendAsync, through the adapter).
// When the EventStore implements it, commands are pipelined
// (Repository.UpdateAsync, docs/adr/0101).
type AsyncAppender interface {
	// AppendAsync is Append, answered through done, exactly once, on a
	// goroutine the store's appends share (done must not block).
	AppendAsync(c events.Commit, expectedSeq uint64, done eventstore.AppendDone, opts ...eventstore.AppendOption)
}
