// Package hookkv is the hook store on NATS KV: the bucket
// ROSTER_POLICY_HOOKS, one key per hook, every change a compare-and-set on
// the key's revision, secret values sealed with the webhook Keyring (ADRs
// 0055, 0087); and View, the in-memory hook source a KV watch keeps
// current for roster-groups, which only reads the bucket.
package hookkv

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Store keeps hooks in the KV bucket. With a Keyring, secret values are
// sealed in every record it writes and opened in every record it reads;
// the entries it returns hold plaintext secrets, in memory only.
type Store struct {
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	keys *endpoint.Keyring // nil: secrets stored as given (no key configured)
}

// History is how many revisions of a hook the bucket keeps.
const History = 5

// Provision creates the bucket when missing and returns a Store that seals
// secrets with keys (nil: stores them in plaintext).
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, keys *endpoint.Keyring) (*Store, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      hookrec.Bucket,
		Description: "Roster policy hooks (one key per hook id; values hold signing secrets, sealed)",
		History:     History,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", hookrec.Bucket, err)
	}
	return &Store{js: js, kv: kv, keys: keys}, nil
}

// Create stores a new hook; hookrec.ErrExists when the id is taken.
func (s *Store) Create(ctx context.Context, e hookrec.Entry) (uint64, error) {
	b, err := hookrec.Seal(s.keys, e)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, e.Hook.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%q: %w", e.Hook.ID, hookrec.ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create hook %q: %w", e.Hook.ID, err)
	}
	return rev, nil
}

// Get returns a hook and its revision.
func (s *Store) Get(ctx context.Context, id string) (hookrec.Entry, uint64, error) {
	e, rev, _, err := s.get(ctx, id)
	return e, rev, err
}

// get is Get that also says whether the record holds plaintext secrets.
func (s *Store) get(ctx context.Context, id string) (hookrec.Entry, uint64, bool, error) {
	entry, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return hookrec.Entry{}, 0, false, fmt.Errorf("%q: %w", id, hookrec.ErrNotFound)
	}
	if err != nil {
		return hookrec.Entry{}, 0, false, fmt.Errorf("get hook %q: %w", id, err)
	}
	e, legacy, err := hookrec.Open(s.keys, entry.Value())
	return e, entry.Revision(), legacy, err
}

// List returns every hook in call order (creation time, then id).
func (s *Store) List(ctx context.Context) ([]hookrec.Entry, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list hooks: %w", err)
	}
	defer lister.Stop()
	var out []hookrec.Entry
	for k := range lister.Keys() {
		e, _, err := s.Get(ctx, k)
		if errors.Is(err, hookrec.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b hookrec.Entry) int { return hookrec.Less(a.Hook, b.Hook) })
	return out, nil
}

// casAttempts is how often Update and Delete retry a lost compare-and-set.
const casAttempts = 8

// Update applies fn to the current hook and writes it back if nobody
// changed it meanwhile, retrying a few times on contention. fn's error
// aborts the update and is returned (hookrec.ErrNoChange: nothing
// written, nil error, changed false).
func (s *Store) Update(ctx context.Context, id string, fn func(*hookrec.Entry) error) (hookrec.Entry, uint64, bool, error) {
	for range casAttempts {
		cur, curRev, legacy, err := s.get(ctx, id)
		if err != nil {
			return cur, 0, false, err
		}
		next := cur.Clone()
		if err := fn(&next); errors.Is(err, hookrec.ErrNoChange) {
			return cur, curRev, false, nil
		} else if err != nil {
			return cur, curRev, false, err
		}
		b, err := hookrec.Seal(s.keys, next)
		if err != nil {
			return cur, curRev, false, err
		}
		rev, err := s.kv.Update(ctx, id, b, curRev)
		if err == nil {
			if s.keys != nil && legacy {
				if err := s.purgeHistory(ctx, id); err != nil {
					return next, rev, true, fmt.Errorf("update hook %q: sealed, but its plaintext history stays: %w", id, err)
				}
			}
			return next, rev, true, nil
		}
		if !lostRace(err) {
			return cur, curRev, false, fmt.Errorf("update hook %q: %w", id, err)
		}
	}
	return hookrec.Entry{}, 0, false, fmt.Errorf("update hook %q: %w", id, hookrec.ErrContention)
}

// purgeHistory drops every revision of id but the newest: once a record
// is sealed, the plaintext revisions it replaced must not stay readable in
// the bucket's history.
func (s *Store) purgeHistory(ctx context.Context, id string) error {
	stream, err := s.js.Stream(ctx, "KV_"+hookrec.Bucket)
	if err != nil {
		return err
	}
	return stream.Purge(ctx, jetstream.WithPurgeSubject("$KV."+hookrec.Bucket+"."+id), jetstream.WithPurgeKeep(1))
}

// lostRace reports whether a compare-and-set failed because the key
// changed after it was read.
func lostRace(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// Delete removes a hook and returns what it was; a change landing between
// the read and the delete makes it read again and retry, so the hook
// returned is the one deleted. hookrec.ErrNotFound when it is gone;
// hookrec.ErrContention when it kept changing.
func (s *Store) Delete(ctx context.Context, id string) (hookrec.Entry, error) {
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
			return cur, fmt.Errorf("delete hook %q: %w", id, err)
		}
	}
	return hookrec.Entry{}, fmt.Errorf("delete hook %q: %w", id, hookrec.ErrContention)
}
