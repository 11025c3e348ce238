// Package endpointmem is an in-memory endpoint store for fast use-case
// tests. It keeps the contract of the NATS KV store (endpointtest.Run):
// records are kept encoded, secrets sealed with the keyring, revisions
// grow store-wide, and its View is always current.
package endpointmem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store is an in-memory app.EndpointStore.
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

func (s *Store) put(id string, e endpoint.Endpoint) (uint64, error) {
	b, err := endpoint.SealRecord(s.keys, e)
	if err != nil {
		return 0, err
	}
	s.rev++
	s.records[id] = record{rev: s.rev, data: b}
	s.history = append(s.history, b)
	return s.rev, nil
}

// Create stores a new endpoint.
func (s *Store) Create(_ context.Context, e endpoint.Endpoint) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[e.ID]; ok {
		return 0, fmt.Errorf("%q: %w", e.ID, endpoint.ErrExists)
	}
	return s.put(e.ID, e)
}

func (s *Store) get(id string) (endpoint.Endpoint, uint64, error) {
	r, ok := s.records[id]
	if !ok {
		return endpoint.Endpoint{}, 0, fmt.Errorf("%q: %w", id, endpoint.ErrNotFound)
	}
	e, _, err := endpoint.OpenRecord(s.keys, r.data)
	return e, r.rev, err
}

// Get returns an endpoint and its revision.
func (s *Store) Get(_ context.Context, id string) (endpoint.Endpoint, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id)
}

// List returns every endpoint, sorted by id.
func (s *Store) List(context.Context) ([]endpoint.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]endpoint.Endpoint, 0, len(s.records))
	for id := range s.records {
		e, _, err := s.get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b endpoint.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Update applies fn under the store's lock: no write can race it.
func (s *Store) Update(_ context.Context, id string, fn func(*endpoint.Endpoint) error) (endpoint.Endpoint, uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, rev, err := s.get(id)
	if err != nil {
		return cur, 0, false, err
	}
	next := cur
	next.Secrets = slices.Clone(cur.Secrets)
	if err := fn(&next); errors.Is(err, endpoint.ErrNoChange) {
		return cur, rev, false, nil
	} else if err != nil {
		return cur, rev, false, err
	}
	nrev, err := s.put(id, next)
	if err != nil {
		return cur, rev, false, err
	}
	return next, nrev, true, nil
}

// Delete removes an endpoint and returns what it was.
func (s *Store) Delete(_ context.Context, id string) (endpoint.Endpoint, error) {
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

// View is the store as an app.EndpointView: always current.
func (s *Store) View() View { return View{s: s} }

// View reads a Store's current endpoints.
type View struct{ s *Store }

// Get returns the endpoint id.
func (v View) Get(id string) (endpoint.Endpoint, bool) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	e, _, err := v.s.get(id)
	return e, err == nil
}

// All returns every endpoint, sorted by id.
func (v View) All() []endpoint.Endpoint {
	eps, _ := v.s.List(context.Background())
	return eps
}

// WaitRevision returns at once: the view is the store.
func (View) WaitRevision(context.Context, uint64) error { return nil }

// WaitGone returns at once: the view is the store.
func (View) WaitGone(context.Context, string) error { return nil }
