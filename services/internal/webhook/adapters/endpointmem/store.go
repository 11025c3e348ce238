// Package endpointmem is an in-memory endpoint store for fast use-case
// tests. It keeps the contract of the NATS KV store (endpointtest.Run):
// records are kept encoded, secrets sealed with the keyring, revisions
// grow store-wide, and its View is always current.
package endpointmem

import (
	"context"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store is an in-memory app.EndpointStore: a kvrecord.Mem of
// endpoint.Records.
type Store struct {
	*kvrecord.Mem[endpoint.Endpoint]
}

// New returns an empty store that seals secrets with keys (nil: stored as
// given).
func New(keys *endpoint.Keyring) *Store {
	errs := kvrecord.Errors{NotFound: endpoint.ErrNotFound, Exists: endpoint.ErrExists, Contention: endpoint.ErrContention, NoChange: endpoint.ErrNoChange}
	return &Store{Mem: kvrecord.NewMem(endpoint.Records{Keys: keys}, errs)}
}

// View is the store as an app.EndpointView: always current.
func (s *Store) View() View { return View{s: s} }

// View reads a Store's current endpoints.
type View struct{ s *Store }

// Get returns the endpoint id.
func (v View) Get(id string) (endpoint.Endpoint, bool) {
	e, _, err := v.s.Get(context.Background(), id)
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
