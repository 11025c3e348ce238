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
// (public contract). Values carry secrets, sealed with the dispatcher's
// Keyring when one is configured (ADR 0055): still grant access to it only
// to the dispatcher.
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
// other's changes. With a Keyring, secret values are sealed in every
// record it writes and opened in every record it reads; the Endpoints it
// returns hold plaintext secrets, in memory only.
type Store struct {
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	keys *Keyring // nil: secrets stored as given (no key configured)
}

// Provision creates the bucket when missing and returns a Store that seals
// secrets with keys (nil: stores them in plaintext).
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, keys *Keyring) (*Store, error) {
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
	return &Store{js: js, kv: kv, keys: keys}, nil
}

// ErrNoKey: a record holds sealed secrets but the store has no keyring.
var ErrNoKey = errors.New("webhook secret is sealed but no webhook secret key is configured")

// decode reads a record, opening sealed secrets. A plaintext secret (a
// record written before a key was configured) is read as it is, and
// legacy says so; the next write seals it.
func (s *Store) decode(b []byte) (e Endpoint, legacy bool, err error) {
	if err := json.Unmarshal(b, &e); err != nil {
		return e, false, fmt.Errorf("decode endpoint: %w", err)
	}
	for i := range e.Secrets {
		sec := &e.Secrets[i]
		if sec.Sealed == "" {
			legacy = legacy || sec.Value != ""
			continue
		}
		if s.keys == nil {
			return Endpoint{}, false, fmt.Errorf("endpoint %q: %w", e.ID, ErrNoKey)
		}
		v, err := s.keys.open(e.ID, sec.Sealed)
		if err != nil {
			return Endpoint{}, false, fmt.Errorf("endpoint %q: %w", e.ID, err)
		}
		sec.Value, sec.Sealed = v, ""
	}
	return e, legacy, nil
}

// encode writes a record, sealing every secret value.
func (s *Store) encode(e Endpoint) ([]byte, error) {
	if s.keys != nil {
		e.Secrets = slices.Clone(e.Secrets)
		for i := range e.Secrets {
			sec := &e.Secrets[i]
			if sec.Value == "" {
				continue
			}
			sealed, err := s.keys.seal(e.ID, sec.Value)
			if err != nil {
				return nil, err
			}
			sec.Sealed, sec.Value = sealed, ""
		}
	}
	return json.Marshal(e)
}

// Create stores a new endpoint; ErrExists when the id is taken.
func (s *Store) Create(ctx context.Context, e Endpoint) (uint64, error) {
	b, err := s.encode(e)
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
	e, rev, _, err := s.get(ctx, id)
	return e, rev, err
}

// get is Get that also says whether the record holds plaintext secrets.
func (s *Store) get(ctx context.Context, id string) (Endpoint, uint64, bool, error) {
	entry, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Endpoint{}, 0, false, fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Endpoint{}, 0, false, fmt.Errorf("get endpoint %q: %w", id, err)
	}
	e, legacy, err := s.decode(entry.Value())
	return e, entry.Revision(), legacy, err
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
	for range casAttempts {
		cur, curRev, legacy, err := s.get(ctx, id)
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
		b, err := s.encode(next)
		if err != nil {
			return cur, curRev, false, err
		}
		rev, err := s.kv.Update(ctx, id, b, curRev)
		if err == nil {
			if s.keys != nil && legacy {
				if err := s.purgeHistory(ctx, id); err != nil {
					return next, rev, true, fmt.Errorf("update endpoint %q: sealed, but its plaintext history stays: %w", id, err)
				}
			}
			return next, rev, true, nil
		}
		if !lostRace(err) {
			return cur, curRev, false, fmt.Errorf("update endpoint %q: %w", id, err)
		}
	}
	return Endpoint{}, 0, false, fmt.Errorf("update endpoint %q: %w", id, ErrContention)
}

// purgeHistory drops every revision of id but the newest: once a record
// is sealed, the plaintext revisions it replaced must not stay readable
// in the bucket's history.
func (s *Store) purgeHistory(ctx context.Context, id string) error {
	stream, err := s.js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return err
	}
	return stream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+Bucket+"."+id), jetstream.WithPurgeKeep(1))
}

// casAttempts is how often Update and Delete retry a lost compare-and-set.
const casAttempts = 8

// lostRace reports whether a compare-and-set failed because the key
// changed after it was read.
func lostRace(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// Delete removes an endpoint and returns what it was. A change that lands
// between the read and the delete makes it read again and retry, as
// Update does: the endpoint returned is the one deleted. ErrNotFound when
// it is gone (also when a concurrent delete won); ErrContention when it
// kept changing.
func (s *Store) Delete(ctx context.Context, id string) (Endpoint, error) {
	for range casAttempts {
		cur, rev, err := s.Get(ctx, id)
		if err != nil {
			return cur, err
		}
		err = s.kv.Delete(ctx, id, jetstream.LastRevision(rev))
		if err == nil {
			return cur, nil
		}
		if !lostRace(err) {
			return cur, fmt.Errorf("delete endpoint %q: %w", id, err)
		}
	}
	return Endpoint{}, fmt.Errorf("delete endpoint %q: %w", id, ErrContention)
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
			c.apply(s, entry)
		}
	}
}

func (c *Cache) apply(s *Store, entry jetstream.KeyValueEntry) {
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
			if e, _, err := s.decode(entry.Value()); err == nil {
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
