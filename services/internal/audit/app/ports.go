// Package app holds the audit trail's use cases: the sink pipeline that
// moves records from their sources into the store (sink.go, pipeline.go,
// store.go) and the queries the CLI and the demo run (query.go). It owns
// the small interfaces it needs (this file); the adapters implement them
// and the package audit wiring file puts them together.
package app

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// ErrRefused marks a store error that retrying cannot cure: the store will
// never take these records as they are (a value it cannot hold, a row its
// driver rejects). Any other Insert error is transient (the store is down,
// busy, or its tables are being recreated) and the same Insert may succeed
// later.
var ErrRefused = errors.New("records refused by the store")

// RecordStore is where the trail is kept (ClickHouse; an in-memory store in
// fast tests). The storetest package is its contract.
//
// Insert stores every record of batch, or returns an error. It is
// idempotent per record id: a record inserted again (a redelivered batch,
// a sink killed between insert and ack) reads back once, as the last copy
// inserted. That is the only deduplication the sink relies on; it never
// checks what is stored before inserting. An empty batch is a no-op.
// Records must have passed record.Validate. Insert is safe for concurrent
// use.
type RecordStore interface {
	Insert(ctx context.Context, batch []record.Record) error
}

// TrailReader answers queries on the stored trail; every answer shows each
// record id once (the copies a redelivery stored collapsed). Orders: see
// each method of Queries. The filter's Limit is already normalised
// (1..MaxLimit).
type TrailReader interface {
	Commands(ctx context.Context, f Filter) ([]record.Command, error)
	Events(ctx context.Context, f Filter) ([]record.Event, error)
	Deliveries(ctx context.Context, f Filter) ([]record.DeliveryAttempt, error)
	EndpointChanges(ctx context.Context, f Filter) ([]record.EndpointChange, error)
	PolicyDecisions(ctx context.Context, f Filter) ([]record.PolicyDecision, error)
}

// Source is a durable queue of messages that each become zero or more
// records (ROSTER_AUDIT, ROSTER_EVENTS). Delivery is at least once: a
// message not acknowledged within the source's ack wait is offered again,
// unless InProgress was called meanwhile. One pipeline reads a source; its
// methods need not be safe for concurrent use, a Message's are.
type Source interface {
	// Name names the source in logs (the durable consumer's name).
	Name() string
	// Fetch returns the next messages, at most max of them, as they come:
	// it ends after max messages or when wait passed. An empty sequence is
	// not an error; an error means nothing was fetched (retried).
	Fetch(ctx context.Context, max int, wait time.Duration) (iter.Seq[Message], error)
	// DeadLetter sets m aside with reason, where an operator finds it, and
	// acknowledges it; nil only once the dead letter is stored. The sink
	// retries it, so it must be idempotent per message.
	DeadLetter(ctx context.Context, m Message, reason string) error
}

// Message is one message of a Source.
type Message interface {
	// Records decodes the message. No records and no error: nothing to
	// write (acknowledge it). An error: it can never be written
	// (dead-letter it, the error as the reason).
	Records() ([]record.Record, error)
	// Ack tells the source the message is stored: never offer it again.
	// A lost ack only means a redelivery, which the store absorbs.
	Ack() error
	// InProgress tells the source the message is still being worked on:
	// restart its ack wait.
	InProgress() error
}
