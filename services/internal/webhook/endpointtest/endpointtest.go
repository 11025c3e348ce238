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
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/kvrecord/kvrecordtest"
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

// Run runs every case against stores made by factory: this package's
// and the record machinery's (kvrecordtest: taken and missing ids, no
// lost update, deletes racing updates).
func Run(t *testing.T, factory Factory) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, factory(t, Keyring(t)))
		})
	}
	kvrecordtest.Run(t, kind, func(t *testing.T) kvrecordtest.Store[endpoint.Endpoint] { return factory(t, Keyring(t)).Store })
}

// kind is the endpoint as the record machinery's cases change it.
var kind = kvrecordtest.Kind[endpoint.Endpoint]{
	Errors: kvrecord.Errors{NotFound: endpoint.ErrNotFound, Exists: endpoint.ErrExists, Contention: endpoint.ErrContention, NoChange: endpoint.ErrNoChange},
	Valid:  Valid,
	Bump:   func(e *endpoint.Endpoint) { e.RateLimit++ },
	Bumps:  func(e endpoint.Endpoint) int { return int(e.RateLimit) },
	Vary:   func(e *endpoint.Endpoint, i, j int) { e.Description = fmt.Sprintf("%d-%d", i, j) },
}

var cases = []struct {
	name string
	run  func(t *testing.T, s Subject)
}{
	{"CreateGet", testCreateGet},
	{"UpdateWithRevision", testUpdateWithRevision},
	{"UpdateNoChange", testUpdateNoChange},
	{"UpdateAborted", testUpdateAborted},
	{"List", testList},
	{"Delete", testDelete},
	{"SecretsSealedAtRest", testSecretsSealedAtRest},
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

// NoSecretAtRest fails t when a record holds one of secrets in any form
// it may leak in: the whsec_ string, its base64 key, or the decoded key
// bytes. Hook stores keep whsec_ secrets too (hooktest).
func NoSecretAtRest(t *testing.T, records [][]byte, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(secret[len(delivery.SecretPrefix):])
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range records {
			for _, b := range [][]byte{[]byte(secret), []byte(secret[len(delivery.SecretPrefix):]), key} {
				if bytes.Contains(raw, b) {
					t.Fatalf("a secret is stored in the clear: %s", raw)
				}
			}
		}
	}
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
	NoSecretAtRest(t, revs, first, next)
	got, _, err := s.Store.Get(ctx, "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Secrets) != 2 || got.Secrets[0].Value != next || got.Secrets[1].Value != first {
		t.Fatalf("secrets read back: %+v", got.Secrets)
	}
}
