package app

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster/events"
)

// Generation is one generation of the read model, as the control record
// names the active one.
type Generation struct {
	Number     uint64    `json:"generation"`
	Bucket     string    `json:"bucket"`
	SwitchedAt time.Time `json:"switched_at"`
}

// RebuildCommand asks for a rebuild of the read model into a fresh
// generation (`roster projection rebuild`).
type RebuildCommand struct {
	// Force takes the rebuild lock even when it is held (a rebuild died).
	Force bool
	// DropOld deletes the previous generation once queries have switched.
	DropOld bool
	// BatchSize is how many commits the guarded tail folds per write
	// (0: the projector's default).
	BatchSize int
	// Progress, when set, is called after every window or batch.
	Progress func(RebuildProgress)
}

// Validate reports every problem with c.
func (c RebuildCommand) Validate() error {
	var errs []error
	if c.BatchSize < 0 || c.BatchSize > 10_000 {
		errs = append(errs, events.Errorf(events.CodeInvalidArgument, "batch %d: must be 1..10000", c.BatchSize))
	}
	return errors.Join(errs...)
}

// RebuildProgress reports how far a rebuild is.
type RebuildProgress struct {
	Generation uint64
	// AppliedSeq of TargetSeq: the stream's last sequence when the rebuild
	// started (commits appended since are applied too before switching).
	AppliedSeq, TargetSeq uint64
	Commits, Events       uint64
}

// RebuildResult says what a rebuild did.
type RebuildResult struct {
	From, To        Generation
	Commits, Events uint64
	Took            time.Duration
	// BulkWrites counts what the bulk phase stored in the new generation
	// (the tail's few writes are not counted): what a benchmark replays as
	// raw KV puts to measure the ceiling the rebuild is bound by.
	BulkWrites WriteCount
}

// WriteCount counts stored KV messages: puts and delete markers, the
// bytes of their keys (without the bucket's subject prefix) and values.
type WriteCount struct {
	Messages, KeyBytes, ValueBytes uint64
}

// Rebuilder folds the event stream from its first commit into a fresh
// generation and switches the active pointer to it once it has caught up
// (package membership's Rebuild, on NATS).
type Rebuilder interface {
	Rebuild(ctx context.Context, cmd RebuildCommand) (RebuildResult, error)
}

// RebuildProjection is the rebuild use case the CLI calls.
type RebuildProjection struct{ r Rebuilder }

// NewRebuildProjection returns the use case running rebuilds with r.
func NewRebuildProjection(r Rebuilder) *RebuildProjection { return &RebuildProjection{r: r} }

// Handle validates cmd and runs the rebuild.
func (h *RebuildProjection) Handle(ctx context.Context, cmd RebuildCommand) (RebuildResult, error) {
	if err := cmd.Validate(); err != nil {
		return RebuildResult{}, firstErr(err)
	}
	return h.r.Rebuild(ctx, cmd)
}
