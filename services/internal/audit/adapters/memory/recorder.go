package memory

import (
	"context"
	"sync"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Recorder is an in-memory record.Recorder for fast tests of the services
// that record (record/recordertest is its contract, shared with the
// ROSTER_AUDIT publisher). Every record is stored on return, once per id,
// as JetStream's Nats-Msg-Id deduplication stores it.
type Recorder struct {
	mu      sync.Mutex
	order   []string
	records map[string]record.Record
}

// NewRecorder is an empty recorder.
func NewRecorder() *Recorder { return &Recorder{records: map[string]record.Record{}} }

// Record implements record.Recorder (stored at once).
func (r *Recorder) Record(ctx context.Context, rec record.Record) error {
	return r.RecordDurable(ctx, rec)
}

// RecordDurable implements record.Recorder.
func (r *Recorder) RecordDurable(ctx context.Context, rec record.Record) error {
	if rec == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.records[rec.AuditID()]; !ok {
		r.order = append(r.order, rec.AuditID())
		r.records[rec.AuditID()] = rec
	}
	return nil
}

// Records are the stored records, in the order first recorded.
func (r *Recorder) Records() []record.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]record.Record, len(r.order))
	for i, id := range r.order {
		out[i] = r.records[id]
	}
	return out
}
