package app_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

// queue is an in-memory app.Source for the sink's fast tests: what a
// JetStream durable consumer does, minus redelivery (the real one is in
// the package audit tests).
type queue struct {
	mu     sync.Mutex
	ready  []*msg
	more   chan struct{}
	dead   map[string]string // message id -> reason
	acked  map[string]bool
	beats  int // InProgress calls
	nextID int
	// fetches counts Fetch calls: a sink that fetches again has handed
	// its last batch over (and stopped that hand-over's ticker).
	fetches int
}

type msg struct {
	q       *queue
	id      string
	records []record.Record
	err     error
}

func newQueue() *queue {
	return &queue{more: make(chan struct{}, 1), dead: map[string]string{}, acked: map[string]bool{}}
}

// push adds a message that becomes records (or fails to decode with err).
func (q *queue) push(err error, records ...record.Record) string {
	q.mu.Lock()
	q.nextID++
	m := &msg{q: q, id: fmt.Sprintf("msg-%d", q.nextID), records: records, err: err}
	if len(records) > 0 {
		m.id = records[0].AuditID()
	}
	q.ready = append(q.ready, m)
	q.mu.Unlock()
	select {
	case q.more <- struct{}{}:
	default:
	}
	return m.id
}

func (q *queue) Name() string { return "queue" }

func (q *queue) Fetch(ctx context.Context, max int, wait time.Duration) (iter.Seq[app.Message], error) {
	q.mu.Lock()
	q.fetches++
	empty := len(q.ready) == 0
	q.mu.Unlock()
	if empty {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-q.more:
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	q.mu.Lock()
	n := min(max, len(q.ready))
	batch := q.ready[:n:n]
	q.ready = q.ready[n:]
	q.mu.Unlock()
	return func(yield func(app.Message) bool) {
		for _, m := range batch {
			if !yield(m) {
				return
			}
		}
	}, nil
}

func (q *queue) DeadLetter(ctx context.Context, m app.Message, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dead[m.(*msg).id] = reason
	q.acked[m.(*msg).id] = true
	return nil
}

// waiting is how many messages no Fetch took yet.
func (q *queue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready)
}

// fetched is how often the sink has fetched.
func (q *queue) fetched() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fetches
}

func (q *queue) snapshot() (acked int, dead map[string]string, beats int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := make(map[string]string, len(q.dead))
	for k, v := range q.dead {
		d[k] = v
	}
	return len(q.acked), d, q.beats
}

func (m *msg) Records() ([]record.Record, error) { return m.records, m.err }

func (m *msg) Ack() error {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	m.q.acked[m.id] = true
	return nil
}

func (m *msg) InProgress() error {
	m.q.mu.Lock()
	defer m.q.mu.Unlock()
	m.q.beats++
	return nil
}

// flaky fails its first n Inserts with err, then passes them to next.
type flaky struct {
	next     app.RecordStore
	mu       sync.Mutex
	n        int
	err      error
	attempts int
	at       []time.Time // when each attempt came, on clock
	clock    interface{ Now() time.Time }
	refuse   map[string]bool // record ids refused (app.ErrRefused)
}

func (f *flaky) Insert(ctx context.Context, batch []record.Record) error {
	f.mu.Lock()
	f.attempts++
	f.at = append(f.at, f.clock.Now())
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		return f.err
	}
	for _, r := range batch {
		if f.refuse[r.AuditID()] {
			return refusedErr{r.AuditID()}
		}
	}
	return f.next.Insert(ctx, batch)
}

func (f *flaky) tries() (int, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts, append([]time.Time(nil), f.at...)
}

type refusedErr struct{ id string }

func (e refusedErr) Error() string        { return "cannot hold " + e.id }
func (e refusedErr) Is(target error) bool { return target == app.ErrRefused }

var errDown = errors.New("store down")
