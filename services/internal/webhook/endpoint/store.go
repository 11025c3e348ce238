package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket holding endpoints, one key per endpoint id
// (public contract). Values carry secrets: grant access to it only to the
// dispatcher.
const Bucket = "ROSTER_WEBHOOK_ENDPOINTS"

// Sentinel errors.
var (
	ErrNotFound = errors.New("endpoint not found")
	ErrExists   = errors.New("endpoint already exists")
	// ErrContention: an update lost the compare-and-set race too often.
	ErrContention = errors.New("endpoint changed concurrently too often")
)

// Store keeps endpoints in the KV bucket. Every change is a
// compare-and-set on the key's revision, so two writers never lose each
// other's changes.
type Store struct {
	kv jetstream.KeyValue
}

// Provision creates the bucket when missing and returns a Store.
func Provision(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Roster webhook endpoints (one key per endpoint id; values hold signing secrets)",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

func decode(b []byte) (Endpoint, error) {
	var e Endpoint
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("decode endpoint: %w", err)
	}
	return e, nil
}

// Create stores a new endpoint; ErrExists when the id is taken.
func (s *Store) Create(ctx context.Context, e Endpoint) (uint64, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, e.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%q: %w", e.ID, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create endpoint %q: %w", e.ID, err)
	}
	return rev, nil
}

// Get returns an endpoint and its revision.
func (s *Store) Get(ctx context.Context, id string) (Endpoint, uint64, error) {
	entry, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Endpoint{}, 0, fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Endpoint{}, 0, fmt.Errorf("get endpoint %q: %w", id, err)
	}
	e, err := decode(entry.Value())
	return e, entry.Revision(), err
}

// List returns every endpoint, sorted by id.
func (s *Store) List(ctx context.Context) ([]Endpoint, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer lister.Stop()
	var out []Endpoint
	for k := range lister.Keys() {
		e, _, err := s.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return compare(a.ID, b.ID) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ErrNoChange may be returned by an Update function to say the endpoint is
// already as wanted; Update then writes nothing and returns it unchanged.
var ErrNoChange = errors.New("no change")

// Update applies fn to the current endpoint and writes it back if nobody
// changed it meanwhile, retrying a few times on contention. fn's error
// aborts the update and is returned (ErrNoChange: nothing written, nil
// error, changed=false).
func (s *Store) Update(ctx context.Context, id string, fn func(*Endpoint) error) (e Endpoint, rev uint64, changed bool, err error) {
	for range 8 {
		cur, curRev, err := s.Get(ctx, id)
		if err != nil {
			return cur, 0, false, err
		}
		next := cur
		next.Secrets = slices.Clone(cur.Secrets)
		if err := fn(&next); errors.Is(err, ErrNoChange) {
			return cur, curRev, false, nil
		} else if err != nil {
			return cur, curRev, false, err
		}
		b, err := json.Marshal(next)
		if err != nil {
			return cur, curRev, false, err
		}
		rev, err := s.kv.Update(ctx, id, b, curRev)
		if err == nil {
			return next, rev, true, nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return cur, curRev, false, fmt.Errorf("update endpoint %q: %w", id, err)
			}
		}
	}
	return Endpoint{}, 0, false, fmt.Errorf("update endpoint %q: %w", id, ErrContention)
}

// Delete removes an endpoint and returns what it was.
func (s *Store) Delete(ctx context.Context, id string) (Endpoint, error) {
	cur, rev, err := s.Get(ctx, id)
	if err != nil {
		return cur, err
	}
	if err := s.kv.Delete(ctx, id, jetstream.LastRevision(rev)); err != nil {
		return cur, fmt.Errorf("delete endpoint %q: %w", id, err)
	}
	return cur, nil
}

// Cache is an in-memory view of the bucket kept current by a KV watch, so
// changes take effect in every dispatcher without a restart.
type Cache struct {
	mu      sync.RWMutex
	m       map[string]Endpoint
	rev     uint64
	ready   bool
	changed chan struct{} // closed and replaced on every change
	// OnChange, when set before Run, is called after each change with the
	// endpoint (nil when deleted).
	OnChange func(id string, e *Endpoint)
}

// NewCache returns an empty cache; Run fills it.
func NewCache() *Cache {
	return &Cache{m: map[string]Endpoint{}, changed: make(chan struct{})}
}

// Run watches the bucket until ctx ends.
func (c *Cache) Run(ctx context.Context, s *Store) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", Bucket, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entry, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: closed", Bucket)
			}
			c.apply(entry)
		}
	}
}

func (c *Cache) apply(entry jetstream.KeyValueEntry) {
	c.mu.Lock()
	var id string
	var ep *Endpoint
	if entry == nil {
		c.ready = true // initial values delivered
	} else {
		id = entry.Key()
		if entry.Revision() > c.rev {
			c.rev = entry.Revision()
		}
		switch entry.Operation() {
		case jetstream.KeyValuePut:
			if e, err := decode(entry.Value()); err == nil {
				c.m[id] = e
				ep = &e
			}
		default:
			delete(c.m, id)
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if entry != nil && c.OnChange != nil {
		c.OnChange(id, ep)
	}
}

// Get returns the cached endpoint.
func (c *Cache) Get(id string) (Endpoint, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	return e, ok
}

// All returns every cached endpoint.
func (c *Cache) All() []Endpoint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Endpoint, 0, len(c.m))
	for _, e := range c.m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return compare(a.ID, b.ID) })
	return out
}

// WaitFor blocks until cond holds on the cache (checked after every
// change) or ctx ends. cond runs under the cache's read lock.
func (c *Cache) WaitFor(ctx context.Context, cond func(rev uint64, get func(string) (Endpoint, bool)) bool) error {
	get := func(id string) (Endpoint, bool) { e, ok := c.m[id]; return e, ok }
	for {
		c.mu.RLock()
		ok := c.ready && cond(c.rev, get)
		ch := c.changed
		c.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitRevision blocks until the cache has seen the bucket's revision rev:
// a reply sent after it reflects the caller's write.
func (c *Cache) WaitRevision(ctx context.Context, rev uint64) error {
	return c.WaitFor(ctx, func(have uint64, _ func(string) (Endpoint, bool)) bool { return have >= rev })
}
