// Package memory is an in-memory audit trail store: the app.RecordStore and
// app.TrailReader of fast tests, held to the same contract as ClickHouse
// (app/storetest). It keeps what ClickHouse keeps (times to the
// microsecond, next_attempt_at to the second, secret headers redacted,
// response bodies cut at record.MaxResponseBody) and answers with the same
// filters and orders.
package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Store is safe for concurrent use. The zero value is not usable: New.
type Store struct {
	mu sync.RWMutex

	// hookChanges are policy hook changes by id (PolicyHookChanges).
	hookChanges sync.Map

	// Per kind, records by id: a record inserted again replaces its copy,
	// as ReplacingMergeTree collapses it.
	commands   map[string]record.Command
	events     map[string]record.Event
	deliveries map[string]record.DeliveryAttempt
	changes    map[string]record.EndpointChange
	decisions  map[string]record.PolicyDecision
	inserts    int
}

// New is an empty store.
func New() *Store {
	return &Store{
		commands:   map[string]record.Command{},
		events:     map[string]record.Event{},
		deliveries: map[string]record.DeliveryAttempt{},
		changes:    map[string]record.EndpointChange{},
		decisions:  map[string]record.PolicyDecision{},
	}
}

// Inserts counts the Insert calls that stored something.
func (s *Store) Inserts() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.inserts
}

// Insert implements app.RecordStore. A record of a type it does not know
// refuses the whole batch (app.ErrRefused), nothing stored.
func (s *Store) Insert(ctx context.Context, batch []record.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	for _, r := range batch {
		switch r.(type) {
		case record.Command, record.Event, record.DeliveryAttempt, record.EndpointChange, record.PolicyDecision, record.PolicyHookChange:
		default:
			return refused{record.Malformed("unknown record type %T", r)}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		switch r := r.(type) {
		case record.PolicyHookChange:
			r.At = micro(r.At)
			s.hookChanges.Store(r.ID, r)
		case record.Command:
			r.ReceivedAt = micro(r.ReceivedAt)
			s.commands[r.ID] = r
		case record.Event:
			r.OccurredAt = micro(r.OccurredAt)
			s.events[r.ID] = r
		case record.DeliveryAttempt:
			r.StartedAt = micro(r.StartedAt)
			if r.NextAttemptAt != nil {
				t := r.NextAttemptAt.UTC().Truncate(time.Second) // a DateTime column
				r.NextAttemptAt = &t
			}
			r.RequestHeaders, r.ResponseHeaders = stored(r.RequestHeaders), stored(r.ResponseHeaders)
			r.ResponseBody = record.TruncateUTF8(r.ResponseBody, record.MaxResponseBody)
			s.deliveries[r.ID] = r
		case record.EndpointChange:
			r.At = micro(r.At)
			s.changes[r.ID] = r
		case record.PolicyDecision:
			r.DecidedAt = micro(r.DecidedAt)
			r.ResponseBody = record.TruncateUTF8(r.ResponseBody, record.MaxPolicyResponseBody)
			s.decisions[r.ID] = r
		}
	}
	s.inserts++
	return nil
}

// refused is an error the store will repeat (errors.Is app.ErrRefused).
type refused struct{ err error }

func (e refused) Error() string        { return e.err.Error() }
func (e refused) Unwrap() error        { return e.err }
func (e refused) Is(target error) bool { return target == app.ErrRefused }

func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// stored is the headers as a table keeps them: secrets redacted, none as nil.
func stored(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = record.StoredHeaderValue(k, v)
	}
	return out
}

// match is one filter: empty want matches all.
func match(want, have string) bool { return want == "" || want == have }

func inRange(f app.Filter, t time.Time) bool {
	us := t.UnixMicro()
	return (f.Since.IsZero() || us >= f.Since.UnixMicro()) && (f.Until.IsZero() || us < f.Until.UnixMicro())
}

func limit[T any](rows []T, f app.Filter) []T {
	if n := f.Normalized().Limit; len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

// Commands implements app.TrailReader: newest first, then by id.
func (s *Store) Commands(ctx context.Context, f app.Filter) ([]record.Command, error) {
	s.mu.RLock()
	var out []record.Command
	for _, c := range s.commands {
		if match(f.GroupID, c.GroupID) && match(f.Actor, c.Actor) && match(f.Status, c.Outcome) && inRange(f, c.ReceivedAt) {
			out = append(out, c)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b record.Command) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), cmp.Compare(a.ID, b.ID))
	})
	return limit(out, f), ctx.Err()
}

// Events implements app.TrailReader: oldest first, then by group and
// version.
func (s *Store) Events(ctx context.Context, f app.Filter) ([]record.Event, error) {
	s.mu.RLock()
	var out []record.Event
	for _, e := range s.events {
		if match(f.GroupID, e.GroupID) && match(f.Actor, e.Actor) && match(f.EventID, e.ID) && match(f.EventType, e.Type) && inRange(f, e.OccurredAt) {
			out = append(out, e)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b record.Event) int {
		return cmp.Or(a.OccurredAt.Compare(b.OccurredAt), cmp.Compare(a.GroupID, b.GroupID), cmp.Compare(a.Version, b.Version), cmp.Compare(a.ID, b.ID))
	})
	return limit(out, f), ctx.Err()
}

// Deliveries implements app.TrailReader: oldest first, then by id; with
// f.Final each (endpoint, event)'s latest row among those in the time
// range, Status and Class filtering that row.
func (s *Store) Deliveries(ctx context.Context, f app.Filter) ([]record.DeliveryAttempt, error) {
	status := func(d record.DeliveryAttempt) bool { return match(f.Status, d.State) && match(f.Class, d.FailureClass) }
	s.mu.RLock()
	var rows []record.DeliveryAttempt
	for _, d := range s.deliveries {
		if match(f.GroupID, d.GroupID) && match(f.EndpointID, d.EndpointID) && match(f.EventID, d.EventID) &&
			match(f.EventType, d.EventType) && inRange(f, d.StartedAt) && (f.Final || status(d)) {
			rows = append(rows, d)
		}
	}
	s.mu.RUnlock()
	if f.Final {
		type key struct{ endpoint, event string }
		latest := map[key]record.DeliveryAttempt{}
		for _, d := range rows {
			k := key{d.EndpointID, d.EventID}
			if cur, ok := latest[k]; !ok || later(d, cur) {
				latest[k] = d
			}
		}
		rows = rows[:0]
		for _, d := range latest {
			if status(d) {
				rows = append(rows, d)
			}
		}
	}
	slices.SortFunc(rows, func(a, b record.DeliveryAttempt) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	return limit(rows, f), ctx.Err()
}

// later reports whether a came after b in one delivery: a later start, on
// a tie the higher attempt, then the repeat, then the higher id.
func later(a, b record.DeliveryAttempt) bool {
	c := cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(boolInt(a.Repeat), boolInt(b.Repeat)), cmp.Compare(a.ID, b.ID))
	return c > 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EndpointChanges implements app.TrailReader: oldest first, then by id.
// PolicyDecisions implements app.TrailReader: oldest first, then id.
func (s *Store) PolicyDecisions(ctx context.Context, f app.Filter) ([]record.PolicyDecision, error) {
	s.mu.RLock()
	var out []record.PolicyDecision
	for _, d := range s.decisions {
		if match(f.HookID, d.HookID) && match(f.GroupID, d.GroupID) && match(f.Actor, d.Actor) && match(f.Status, d.Outcome) &&
			match(f.Class, d.FailureClass) && inRange(f, d.DecidedAt) {
			out = append(out, d)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b record.PolicyDecision) int {
		return cmp.Or(a.DecidedAt.Compare(b.DecidedAt), cmp.Compare(a.ID, b.ID))
	})
	return limit(out, f), ctx.Err()
}

func (s *Store) EndpointChanges(ctx context.Context, f app.Filter) ([]record.EndpointChange, error) {
	s.mu.RLock()
	var out []record.EndpointChange
	for _, c := range s.changes {
		if match(f.GroupID, c.GroupID) && match(f.EndpointID, c.EndpointID) && match(f.Actor, c.Actor) && match(f.Status, c.Change) && inRange(f, c.At) {
			out = append(out, c)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b record.EndpointChange) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	return limit(out, f), ctx.Err()
}

// PolicyHookChanges returns the policy hook changes stored, oldest first,
// then by id.
func (s *Store) PolicyHookChanges() []record.PolicyHookChange {
	var out []record.PolicyHookChange
	s.hookChanges.Range(func(_, v any) bool {
		out = append(out, v.(record.PolicyHookChange))
		return true
	})
	slices.SortFunc(out, func(a, b record.PolicyHookChange) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
