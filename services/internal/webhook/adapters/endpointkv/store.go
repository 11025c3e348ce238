// Package endpointkv is the endpoint store on NATS KV: the bucket
// ROSTER_WEBHOOK_ENDPOINTS, one key per endpoint, every change a
// compare-and-set on the key's revision, secret values sealed with a
// Keyring (ADR 0055); and Cache, the in-memory view a KV watch keeps
// current for the fan-out and the workers.
package endpointkv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store keeps endpoints in the KV bucket. Every change is a
// compare-and-set on the key's revision, so two writers never lose each
// other's changes. With a Keyring, secret values are sealed in every
// record it writes and opened in every record it reads; the Endpoints it
// returns hold plaintext secrets, in memory only.
type Store struct {
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	keys *endpoint.Keyring // nil: secrets stored as given (no key configured)
}

// Provision creates the bucket when missing and returns a Store that seals
// secrets with keys (nil: stores them in plaintext).
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, keys *endpoint.Keyring) (*Store, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      endpoint.Bucket,
		Description: "Roster webhook endpoints (one key per endpoint id; values hold signing secrets)",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", endpoint.Bucket, err)
	}
	return &Store{js: js, kv: kv, keys: keys}, nil
}

func (s *Store) decode(b []byte) (endpoint.Endpoint, bool, error) {
	return endpoint.OpenRecord(s.keys, b)
}

func (s *Store) encode(e endpoint.Endpoint) ([]byte, error) { return endpoint.SealRecord(s.keys, e) }

// Create stores a new endpoint; endpoint.ErrExists when the id is taken.
func (s *Store) Create(ctx context.Context, e endpoint.Endpoint) (uint64, error) {
	b, err := s.encode(e)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, e.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%q: %w", e.ID, endpoint.ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create endpoint %q: %w", e.ID, err)
	}
	return rev, nil
}

// Get returns an endpoint and its revision.
func (s *Store) Get(ctx context.Context, id string) (endpoint.Endpoint, uint64, error) {
	e, rev, _, err := s.get(ctx, id)
	return e, rev, err
}

// get is Get that also says whether the record holds plaintext secrets.
func (s *Store) get(ctx context.Context, id string) (endpoint.Endpoint, uint64, bool, error) {
	entry, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return endpoint.Endpoint{}, 0, false, fmt.Errorf("%q: %w", id, endpoint.ErrNotFound)
	}
	if err != nil {
		return endpoint.Endpoint{}, 0, false, fmt.Errorf("get endpoint %q: %w", id, err)
	}
	e, legacy, err := s.decode(entry.Value())
	return e, entry.Revision(), legacy, err
}

// List returns every endpoint, sorted by id.
func (s *Store) List(ctx context.Context) ([]endpoint.Endpoint, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer lister.Stop()
	var out []endpoint.Endpoint
	for k := range lister.Keys() {
		e, _, err := s.Get(ctx, k)
		if errors.Is(err, endpoint.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b endpoint.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Update applies fn to the current endpoint and writes it back if nobody
// changed it meanwhile, retrying a few times on contention. fn's error
// aborts the update and is returned (endpoint.ErrNoChange: nothing written, nil
// error, changed=false).
func (s *Store) Update(ctx context.Context, id string, fn func(*endpoint.Endpoint) error) (e endpoint.Endpoint, rev uint64, changed bool, err error) {
	for range casAttempts {
		cur, curRev, legacy, err := s.get(ctx, id)
		if err != nil {
			return cur, 0, false, err
		}
		next := cur
		next.Secrets = slices.Clone(cur.Secrets)
		if err := fn(&next); errors.Is(err, endpoint.ErrNoChange) {
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
	return endpoint.Endpoint{}, 0, false, fmt.Errorf("update endpoint %q: %w", id, endpoint.ErrContention)
}

// purgeHistory drops every revision of id but the newest: once a record
// is sealed, the plaintext revisions it replaced must not stay readable
// in the bucket's history.
func (s *Store) purgeHistory(ctx context.Context, id string) error {
	stream, err := s.js.Stream(ctx, "KV_"+endpoint.Bucket)
	if err != nil {
		return err
	}
	return stream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+endpoint.Bucket+"."+id), jetstream.WithPurgeKeep(1))
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
// Update does: the endpoint returned is the one deleted. endpoint.ErrNotFound when
// it is gone (also when a concurrent delete won); endpoint.ErrContention when it
// kept changing.
func (s *Store) Delete(ctx context.Context, id string) (endpoint.Endpoint, error) {
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
	return endpoint.Endpoint{}, fmt.Errorf("delete endpoint %q: %w", id, endpoint.ErrContention)
}
