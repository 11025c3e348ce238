// Package jskv is a kvrecord store on a NATS KV bucket: one key per record
// id, every change a compare-and-set on the key's revision (retried a few
// times when another writer got there first), and sealing-on-write: a
// record read with plaintext secrets and written back sealed has its
// plaintext revisions purged from the bucket's history.
package jskv

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/kvrecord"
)

// Store keeps the records codec describes in one KV bucket. Safe for
// concurrent use; two writers never lose each other's changes.
type Store[T any] struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	bucket string
	codec  kvrecord.Codec[T]
	errs   kvrecord.Errors
}

// Provision creates or updates the bucket cfg describes (Replicas 0: one)
// and returns a Store on it.
func Provision[T any](ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, codec kvrecord.Codec[T], errs kvrecord.Errors) (*Store[T], error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", cfg.Bucket, err)
	}
	return &Store[T]{js: js, kv: kv, bucket: cfg.Bucket, codec: codec, errs: errs}, nil
}

// KV is the bucket, for a watch that keeps a view of it.
func (s *Store[T]) KV() jetstream.KeyValue { return s.kv }

// Create stores a new record; Errors.Exists when the id is taken.
func (s *Store[T]) Create(ctx context.Context, v T) (uint64, error) {
	id := s.codec.Key(v)
	b, err := s.codec.Encode(v)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, id, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%q: %w", id, s.errs.Exists)
	}
	if err != nil {
		return 0, fmt.Errorf("create %s %q: %w", s.codec.Noun(), id, err)
	}
	return rev, nil
}

// Get returns a record and its revision; Errors.NotFound when absent.
func (s *Store[T]) Get(ctx context.Context, id string) (T, uint64, error) {
	v, rev, _, err := s.get(ctx, id)
	return v, rev, err
}

// get is Get that also says whether the record is stale (Codec.Decode).
func (s *Store[T]) get(ctx context.Context, id string) (T, uint64, bool, error) {
	var zero T
	entry, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return zero, 0, false, fmt.Errorf("%q: %w", id, s.errs.NotFound)
	}
	if err != nil {
		return zero, 0, false, fmt.Errorf("get %s %q: %w", s.codec.Noun(), id, err)
	}
	v, stale, err := s.codec.Decode(entry.Value())
	return v, entry.Revision(), stale, err
}

// List returns every record in Codec.Compare order.
func (s *Store[T]) List(ctx context.Context) ([]T, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", s.codec.Noun(), err)
	}
	defer lister.Stop()
	var out []T
	for k := range lister.Keys() {
		v, _, err := s.Get(ctx, k)
		if errors.Is(err, s.errs.NotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, s.codec.Compare)
	return out, nil
}

// casAttempts is how often Update and Delete retry a lost compare-and-set.
const casAttempts = 8

// Update applies fn to a copy of the current record and writes it back if
// nobody changed it meanwhile, retrying a few times on contention
// (Errors.Contention after the last). fn's error aborts the update and is
// returned (Errors.NoChange: nothing written, nil error, changed false).
func (s *Store[T]) Update(ctx context.Context, id string, fn func(*T) error) (T, uint64, bool, error) {
	var zero T
	for range casAttempts {
		cur, curRev, stale, err := s.get(ctx, id)
		if err != nil {
			return cur, 0, false, err
		}
		next := s.codec.Clone(cur)
		if err := fn(&next); errors.Is(err, s.errs.NoChange) {
			return cur, curRev, false, nil
		} else if err != nil {
			return cur, curRev, false, err
		}
		b, err := s.codec.Encode(next)
		if err != nil {
			return cur, curRev, false, err
		}
		rev, err := s.kv.Update(ctx, id, b, curRev)
		if err == nil {
			if stale {
				if err := s.purgeHistory(ctx, id); err != nil {
					return next, rev, true, fmt.Errorf("update %s %q: sealed, but its plaintext history stays: %w", s.codec.Noun(), id, err)
				}
			}
			return next, rev, true, nil
		}
		if !lostRace(err) {
			return cur, curRev, false, fmt.Errorf("update %s %q: %w", s.codec.Noun(), id, err)
		}
	}
	return zero, 0, false, fmt.Errorf("update %s %q: %w", s.codec.Noun(), id, s.errs.Contention)
}

// purgeHistory drops every revision of id but the newest: once a record
// is sealed, the plaintext revisions it replaced must not stay readable
// in the bucket's history.
func (s *Store[T]) purgeHistory(ctx context.Context, id string) error {
	stream, err := s.js.Stream(ctx, "KV_"+s.bucket)
	if err != nil {
		return err
	}
	return stream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+s.bucket+"."+id), jetstream.WithPurgeKeep(1))
}

// lostRace reports whether a compare-and-set failed because the key
// changed after it was read.
func lostRace(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// Delete removes a record and returns what it was. A change that lands
// between the read and the delete makes it read again and retry, as
// Update does: the record returned is the one deleted. Errors.NotFound
// when it is gone (also when a concurrent delete won); Errors.Contention
// when it kept changing.
func (s *Store[T]) Delete(ctx context.Context, id string) (T, error) {
	var zero T
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
			return cur, fmt.Errorf("delete %s %q: %w", s.codec.Noun(), id, err)
		}
	}
	return zero, fmt.Errorf("delete %s %q: %w", s.codec.Noun(), id, s.errs.Contention)
}
