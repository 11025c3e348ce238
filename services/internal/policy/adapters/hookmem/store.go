// Package hookmem is an in-memory hook store for fast use-case tests. It
// keeps the contract of the NATS KV store (hooktest.Run): records are kept
// encoded, secrets sealed with the keyring, revisions grow store-wide, and
// its view is always current.
package hookmem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store is an in-memory app.HookStore.
type Store struct {
	keys *endpoint.Keyring

	mu      sync.Mutex
	rev     uint64
	records map[string]record
	history [][]byte // every record written, for AtRest
}

type record struct {
	rev  uint64
	data []byte
}

// New returns an empty store that seals secrets with keys (nil: stored as
// given).
func New(keys *endpoint.Keyring) *Store {
	return &Store{keys: keys, records: map[string]record{}}
}

// AtRest returns every record written, encoded as stored.
func (s *Store) AtRest() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

func (s *Store) put(e hookrec.Entry) (uint64, error) {
	b, err := hookrec.Seal(s.keys, e)
	if err != nil {
		return 0, err
	}
	s.rev++
	s.records[e.Hook.ID] = record{rev: s.rev, data: b}
	s.history = append(s.history, b)
	return s.rev, nil
}

// Create stores a new hook.
func (s *Store) Create(_ context.Context, e hookrec.Entry) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[e.Hook.ID]; ok {
		return 0, fmt.Errorf("%q: %w", e.Hook.ID, hookrec.ErrExists)
	}
	return s.put(e)
}

func (s *Store) get(id string) (hookrec.Entry, uint64, error) {
	r, ok := s.records[id]
	if !ok {
		return hookrec.Entry{}, 0, fmt.Errorf("%q: %w", id, hookrec.ErrNotFound)
	}
	e, _, err := hookrec.Open(s.keys, r.data)
	return e, r.rev, err
}

// Get returns a hook and its revision.
func (s *Store) Get(_ context.Context, id string) (hookrec.Entry, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id)
}

// List returns every hook in call order.
func (s *Store) List(context.Context) ([]hookrec.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list()
}

func (s *Store) list() ([]hookrec.Entry, error) {
	out := make([]hookrec.Entry, 0, len(s.records))
	for id := range s.records {
		e, _, err := s.get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b hookrec.Entry) int { return hookrec.Less(a.Hook, b.Hook) })
	return out, nil
}

// Update applies fn under the store's lock: no write can race it.
func (s *Store) Update(_ context.Context, id string, fn func(*hookrec.Entry) error) (hookrec.Entry, uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, rev, err := s.get(id)
	if err != nil {
		return cur, 0, false, err
	}
	next := cur.Clone()
	if err := fn(&next); errors.Is(err, hookrec.ErrNoChange) {
		return cur, rev, false, nil
	} else if err != nil {
		return cur, rev, false, err
	}
	nrev, err := s.put(next)
	if err != nil {
		return cur, rev, false, err
	}
	return next, nrev, true, nil
}

// Delete removes a hook and returns what it was.
func (s *Store) Delete(_ context.Context, id string) (hookrec.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _, err := s.get(id)
	if err != nil {
		return cur, err
	}
	delete(s.records, id)
	s.rev++
	return cur, nil
}

// ForCommand returns the hooks of command in call order, secrets opened:
// the store as a hook source, always current. A record that does not open
// is left out (the KV view keeps it without secrets; the in-memory store
// only ever holds what it sealed itself).
func (s *Store) ForCommand(command string) []hook.Hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, _ := s.list()
	var out []hook.Hook
	for _, e := range es {
		if e.Hook.Command == command {
			out = append(out, e.Hook)
		}
	}
	return out
}

// Ready is always true: the store is its own view.
func (s *Store) Ready() bool { return true }
