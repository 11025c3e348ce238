// Package endpointtest is the contract of app.EndpointStore: one list of
// cases every implementation passes (as Watermill's pubsub/tests), the
// NATS KV adapter against a real server and the in-memory one alike.
package endpointtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Subject is one fresh, empty store under test.
type Subject struct {
	Store app.EndpointStore
	// AtRest returns every stored revision of every record, as bytes
	// the way a reader of the storage sees them (the KV bucket's
	// history; the in-memory adapter's encoded records).
	AtRest func(t *testing.T) [][]byte
}

// Factory returns a fresh, empty store that seals secrets with keys.
type Factory func(t *testing.T, keys *endpoint.Keyring) Subject

// Run runs every case against stores made by factory.
func Run(t *testing.T, factory Factory) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, factory(t, Keyring(t)))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, s Subject)
}{
	{"CreateGet", testCreateGet},
	{"CreateTwice", testCreateTwice},
	{"GetMissing", testGetMissing},
	{"UpdateWithRevision", testUpdateWithRevision},
	{"UpdateNoChange", testUpdateNoChange},
	{"UpdateAborted", testUpdateAborted},
	{"List", testList},
	{"Delete", testDelete},
	{"SecretsSealedAtRest", testSecretsSealedAtRest},
	{"ConcurrentUpdates", testConcurrentUpdates},
	{"DeletesRacingUpdates", testDeletesRacingUpdates},
}

// Keyring is a fresh keyring of one random key.
func Keyring(t *testing.T) *endpoint.Keyring {
	t.Helper()
	s, err := endpoint.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := endpoint.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := endpoint.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// Valid is a valid endpoint with id and a fresh secret.
func Valid(t *testing.T, id string) endpoint.Endpoint {
	t.Helper()
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return endpoint.Endpoint{ID: id, URL: "https://hooks.example.com/" + id, EventTypes: []string{"*"},
		Format: endpoint.FormatStandard, Secrets: []endpoint.Secret{{Value: s, CreatedAt: now}},
		Timeout: endpoint.Duration(15 * time.Second), State: endpoint.StateActive, CreatedAt: now, UpdatedAt: now}
}

func testCreateGet(t *testing.T, s Subject) {
	ctx := context.Background()
	ep := Valid(t, "ep1")
	rev, err := s.Store.Create(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if rev == 0 {
		t.Fatal("create: revision 0")
	}
	got, grev, err := s.Store.Get(ctx, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if grev != rev {
		t.Fatalf("revision: want %d, have %d", rev, grev)
	}
	if got.URL != ep.URL || len(got.Secrets) != 1 || got.Secrets[0].Value != ep.Secrets[0].Value || got.Secrets[0].Sealed != "" {
		t.Fatalf("want %+v, have %+v", ep, got)
	}
}

func testCreateTwice(t *testing.T, s Subject) {
	ctx := context.Background()
	if _, err := s.Store.Create(ctx, Valid(t, "ep1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Create(ctx, Valid(t, "ep1")); !errors.Is(err, endpoint.ErrExists) {
		t.Fatalf("second create: want ErrExists, have %v", err)
	}
}

func testGetMissing(t *testing.T, s Subject) {
	ctx := context.Background()
	if _, _, err := s.Store.Get(ctx, "nope"); !errors.Is(err, endpoint.ErrNotFound) {
		t.Fatalf("get: want ErrNotFound, have %v", err)
	}
	if _, _, _, err := s.Store.Update(ctx, "nope", func(*endpoint.Endpoint) error { return nil }); !errors.Is(err, endpoint.ErrNotFound) {
		t.Fatalf("update: want ErrNotFound, have %v", err)
	}
	if _, err := s.Store.Delete(ctx, "nope"); !errors.Is(err, endpoint.ErrNotFound) {
		t.Fatalf("delete: want ErrNotFound, have %v", err)
	}
}

func testUpdateWithRevision(t *testing.T, s Subject) {
	ctx := context.Background()
	rev, err := s.Store.Create(ctx, Valid(t, "ep1"))
	if err != nil {
		t.Fatal(err)
	}
	ep, urev, changed, err := s.Store.Update(ctx, "ep1", func(e *endpoint.Endpoint) error {
		e.Description = "changed"
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("update: changed %v, %v", changed, err)
	}
	if urev <= rev {
		t.Fatalf("update revision %d, want more than create's %d", urev, rev)
	}
	if ep.Description != "changed" {
		t.Fatalf("update returned %q", ep.Description)
	}
	got, grev, err := s.Store.Get(ctx, "ep1")
	if err != nil || got.Description != "changed" || grev != urev {
		t.Fatalf("get after update: %q rev %d (want %d), %v", got.Description, grev, urev, err)
	}
}

func testUpdateNoChange(t *testing.T, s Subject) {
	ctx := context.Background()
	rev, err := s.Store.Create(ctx, Valid(t, "ep1"))
	if err != nil {
		t.Fatal(err)
	}
	_, urev, changed, err := s.Store.Update(ctx, "ep1", func(*endpoint.Endpoint) error { return endpoint.ErrNoChange })
	if err != nil || changed || urev != rev {
		t.Fatalf("no-change update: changed %v, rev %d (want %d), %v", changed, urev, rev, err)
	}
}

func testUpdateAborted(t *testing.T, s Subject) {
	ctx := context.Background()
	if _, err := s.Store.Create(ctx, Valid(t, "ep1")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	if _, _, _, err := s.Store.Update(ctx, "ep1", func(e *endpoint.Endpoint) error {
		e.Description = "lost"
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("aborted update: want the function's error, have %v", err)
	}
	if got, _, _ := s.Store.Get(ctx, "ep1"); got.Description != "" {
		t.Fatalf("an aborted update was written: %q", got.Description)
	}
}

func testList(t *testing.T, s Subject) {
	ctx := context.Background()
	if eps, err := s.Store.List(ctx); err != nil || len(eps) != 0 {
		t.Fatalf("empty list: %d, %v", len(eps), err)
	}
	for _, id := range []string{"c", "a", "b"} {
		if _, err := s.Store.Create(ctx, Valid(t, id)); err != nil {
			t.Fatal(err)
		}
	}
	eps, err := s.Store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range eps {
		ids = append(ids, e.ID)
		if len(e.Secrets) != 1 || e.Secrets[0].Value == "" {
			t.Fatalf("list: %s without its secret", e.ID)
		}
	}
	if fmt.Sprint(ids) != "[a b c]" {
		t.Fatalf("list: want [a b c], have %v", ids)
	}
}

func testDelete(t *testing.T, s Subject) {
	ctx := context.Background()
	ep := Valid(t, "ep1")
	if _, err := s.Store.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	got, err := s.Store.Delete(ctx, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "ep1" || got.Secrets[0].Value != ep.Secrets[0].Value {
		t.Fatalf("delete returned %+v", got)
	}
	if _, _, err := s.Store.Get(ctx, "ep1"); !errors.Is(err, endpoint.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	// The id is free again.
	if _, err := s.Store.Create(ctx, Valid(t, "ep1")); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
}

// secretForms is every form a secret may leak in: the whsec_ string, its
// base64 key, and the decoded key bytes.
func secretForms(t *testing.T, secret string) [][]byte {
	key, err := base64.StdEncoding.DecodeString(secret[len(delivery.SecretPrefix):])
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{[]byte(secret), []byte(secret[len(delivery.SecretPrefix):]), key}
}

func testSecretsSealedAtRest(t *testing.T, s Subject) {
	ctx := context.Background()
	ep := Valid(t, "ep1")
	first := ep.Secrets[0].Value
	if _, err := s.Store.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	next := Valid(t, "x").Secrets[0].Value
	if _, _, _, err := s.Store.Update(ctx, "ep1", func(e *endpoint.Endpoint) error {
		e.Secrets = append([]endpoint.Secret{{Value: next, CreatedAt: time.Now()}}, e.Secrets...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	revs := s.AtRest(t)
	if len(revs) < 2 {
		t.Fatalf("%d records at rest, want both revisions", len(revs))
	}
	for _, raw := range revs {
		for _, secret := range []string{first, next} {
			for _, b := range secretForms(t, secret) {
				if bytes.Contains(raw, b) {
					t.Fatalf("a secret is stored in the clear: %s", raw)
				}
			}
		}
	}
	got, _, err := s.Store.Get(ctx, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Secrets) != 2 || got.Secrets[0].Value != next || got.Secrets[1].Value != first {
		t.Fatalf("secrets read back: %+v", got.Secrets)
	}
}

// Concurrent read-modify-writes never lose one another's change.
func testConcurrentUpdates(t *testing.T, s Subject) {
	ctx := context.Background()
	if _, err := s.Store.Create(ctx, Valid(t, "ep1")); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					_, _, _, err := s.Store.Update(ctx, "ep1", func(e *endpoint.Endpoint) error {
						e.RateLimit++
						return nil
					})
					if errors.Is(err, endpoint.ErrContention) {
						continue // the contract allows it: the caller retries
					}
					if err != nil {
						errs <- err
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _, err := s.Store.Get(ctx, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if got.RateLimit != writers*each {
		t.Fatalf("rate_limit: want %d increments, have %v: an update was lost", writers*each, got.RateLimit)
	}
}

// Deletes racing updates: every outcome is success, ErrNotFound (the
// other side deleted first) or ErrContention, never an untyped error.
func testDeletesRacingUpdates(t *testing.T, s Subject) {
	ctx := context.Background()
	for round := range 3 {
		id := fmt.Sprintf("ep%d", round)
		if _, err := s.Store.Create(ctx, Valid(t, id)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 6 {
			wg.Go(func() {
				for j := range 4 {
					_, _, _, err := s.Store.Update(ctx, id, func(e *endpoint.Endpoint) error {
						e.Description = fmt.Sprintf("%d-%d", i, j)
						return nil
					})
					if err != nil && !errors.Is(err, endpoint.ErrNotFound) && !errors.Is(err, endpoint.ErrContention) {
						errs <- fmt.Errorf("update: %w", err)
						return
					}
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				if _, err := s.Store.Delete(ctx, id); err != nil && !errors.Is(err, endpoint.ErrNotFound) && !errors.Is(err, endpoint.ErrContention) {
					errs <- fmt.Errorf("delete: %w", err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if _, err := s.Store.Delete(ctx, id); err != nil && !errors.Is(err, endpoint.ErrNotFound) {
			t.Fatal(err)
		}
		if _, _, err := s.Store.Get(ctx, id); !errors.Is(err, endpoint.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	}
}
