package endpointkv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Cache is an in-memory view of the bucket kept current by a KV watch, so
// changes take effect in every dispatcher without a restart.
type Cache struct {
	mu      sync.RWMutex
	m       map[string]endpoint.Endpoint
	rev     uint64
	ready   bool
	changed chan struct{} // closed and replaced on every change
	// OnChange, when set before Run, is called after each change with the
	// endpoint (nil when deleted).
	OnChange func(id string, e *endpoint.Endpoint)
}

// NewCache returns an empty cache; Run fills it.
func NewCache() *Cache {
	return &Cache{m: map[string]endpoint.Endpoint{}, changed: make(chan struct{})}
}

// Run watches the bucket until ctx ends.
func (c *Cache) Run(ctx context.Context, s *Store) error {
	w, err := s.KV().WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", endpoint.Bucket, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entry, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: closed", endpoint.Bucket)
			}
			c.apply(s, entry)
		}
	}
}

func (c *Cache) apply(s *Store, entry jetstream.KeyValueEntry) {
	c.mu.Lock()
	var id string
	var ep *endpoint.Endpoint
	if entry == nil {
		c.ready = true // initial values delivered
	} else {
		id = entry.Key()
		if entry.Revision() > c.rev {
			c.rev = entry.Revision()
		}
		switch entry.Operation() {
		case jetstream.KeyValuePut:
			if e, _, err := s.records.Decode(entry.Value()); err == nil {
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
func (c *Cache) Get(id string) (endpoint.Endpoint, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	return e, ok
}

// All returns every cached endpoint.
func (c *Cache) All() []endpoint.Endpoint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]endpoint.Endpoint, 0, len(c.m))
	for _, e := range c.m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b endpoint.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// WaitFor blocks until cond holds on the cache (checked after every
// change) or ctx ends. cond runs under the cache's read lock.
func (c *Cache) WaitFor(ctx context.Context, cond func(rev uint64, get func(string) (endpoint.Endpoint, bool)) bool) error {
	get := func(id string) (endpoint.Endpoint, bool) { e, ok := c.m[id]; return e, ok }
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
	return c.WaitFor(ctx, func(have uint64, _ func(string) (endpoint.Endpoint, bool)) bool { return have >= rev })
}

// WaitGone blocks until the cache no longer holds id.
func (c *Cache) WaitGone(ctx context.Context, id string) error {
	return c.WaitFor(ctx, func(_ uint64, get func(string) (endpoint.Endpoint, bool)) bool {
		_, ok := get(id)
		return !ok
	})
}
