package endpointkv_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/endpointkv"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

func valid(t *testing.T) endpoint.Endpoint {
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return endpoint.Endpoint{ID: "ep1", URL: "https://hooks.example.com/x", EventTypes: []string{"*"},
		Format: endpoint.FormatStandard, Secrets: []endpoint.Secret{{Value: s}},
		Timeout: endpoint.Duration(15 * time.Second), State: endpoint.StateActive}
}

func newKey(t *testing.T) []byte {
	t.Helper()
	s, err := endpoint.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := endpoint.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyring(t *testing.T, current []byte, old ...[]byte) *endpoint.Keyring {
	t.Helper()
	k, err := endpoint.NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func provision(t *testing.T, js jetstream.JetStream, keys *endpoint.Keyring) *endpointkv.Store {
	t.Helper()
	s, err := endpointkv.Provision(context.Background(), js, 1, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func assertNoSecret(t *testing.T, js jetstream.JetStream, secrets ...string) {
	t.Helper()
	revs := natstest.KVHistory(t, js, endpoint.Bucket)
	if len(revs) == 0 {
		t.Fatal("bucket is empty")
	}
	endpointtest.NoSecretAtRest(t, revs, secrets...)
}

func TestSecretsSealedAtRest(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	k1 := newKey(t)
	store := provision(t, srv.JS, keyring(t, k1))
	ep := valid(t)
	secret := ep.Secrets[0].Value
	if _, err := store.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	got, _, err := store.Get(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secrets[0].Value != secret || got.Secrets[0].Sealed != "" {
		t.Fatalf("Get returned secret %+v, want the plaintext in memory only", got.Secrets[0])
	}
	// A rotation writes a second secret; both stay sealed, in every revision.
	next := valid(t).Secrets[0].Value
	if _, _, _, err := store.Update(ctx, ep.ID, func(e *endpoint.Endpoint) error {
		e.Secrets = append([]endpoint.Secret{{Value: next, CreatedAt: time.Now()}}, e.Secrets...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, srv.JS, secret, next)
	for _, raw := range natstest.KVHistory(t, srv.JS, endpoint.Bucket) {
		if bytes.Contains(raw, k1) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(k1))) {
			t.Fatal("the bucket holds the key")
		}
	}
	// The cache, fed by the watch, opens them too.
	cache := endpointkv.NewCache()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = cache.Run(cctx, store) }()
	natstest.Eventually(t, 5*time.Second, func() error {
		e, ok := cache.Get(ep.ID)
		if !ok || len(e.Secrets) != 2 || e.Secrets[0].Value != next || e.Secrets[1].Value != secret {
			return fmt.Errorf("cache has %+v", e.Secrets)
		}
		return nil
	})
	if r := got.Redacted(); r.Secrets[0].Value != "" || r.Secrets[0].Sealed != "" {
		t.Fatalf("redacted %+v", r.Secrets[0])
	}
}

// Records written before a key was configured stay readable; their next
// write seals them and drops the plaintext revisions. Keys rotate: the
// old key opens, the current one seals.
func TestPlaintextMigratesAndKeysRotate(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	plain := provision(t, srv.JS, nil)
	ep := valid(t)
	secret := ep.Secrets[0].Value
	if _, err := plain.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if raw := natstest.KVHistory(t, srv.JS, endpoint.Bucket); !bytes.Contains(raw[0], []byte(secret)) {
		t.Fatal("without a key the secret is expected in plaintext")
	}

	k1, k2 := newKey(t), newKey(t)
	sealed1 := provision(t, srv.JS, keyring(t, k1))
	got, _, err := sealed1.Get(ctx, ep.ID)
	if err != nil || got.Secrets[0].Value != secret {
		t.Fatalf("legacy record: %v, %+v", err, got.Secrets)
	}
	if _, _, _, err := sealed1.Update(ctx, ep.ID, func(e *endpoint.Endpoint) error { e.Description = "sealed"; return nil }); err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, srv.JS, secret)
	if _, _, err := plain.Get(ctx, ep.ID); !errors.Is(err, endpoint.ErrNoKey) {
		t.Fatalf("keyless read of a sealed record: %v, want ErrNoKey", err)
	}

	// Rotate: k2 seals, k1 still opens.
	sealed2 := provision(t, srv.JS, keyring(t, k2, k1))
	if got, _, err := sealed2.Get(ctx, ep.ID); err != nil || got.Secrets[0].Value != secret {
		t.Fatalf("read with the old key: %v", err)
	}
	if _, _, _, err := sealed2.Update(ctx, ep.ID, func(e *endpoint.Endpoint) error { e.Description = "k2"; return nil }); err != nil {
		t.Fatal(err)
	}
	only2 := provision(t, srv.JS, keyring(t, k2))
	if got, _, err := only2.Get(ctx, ep.ID); err != nil || got.Secrets[0].Value != secret {
		t.Fatalf("after re-sealing with k2: %v", err)
	}
	only1 := provision(t, srv.JS, keyring(t, k1))
	if _, _, err := only1.Get(ctx, ep.ID); !errors.Is(err, endpoint.ErrUnknownKey) {
		t.Fatalf("k1 alone after rotation: %v, want ErrUnknownKey", err)
	}
}

// A sealed secret is bound to its endpoint: copied into another record it
// does not open.
func TestSealedSecretBoundToEndpoint(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	store := provision(t, srv.JS, keyring(t, newKey(t)))
	ep := valid(t)
	if _, err := store.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	kv, err := srv.JS.KeyValue(ctx, endpoint.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(entry.Value(), []byte(`"id":"ep1"`), []byte(`"id":"ep2"`), 1)
	if _, err := kv.Put(ctx, "ep2", forged); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Get(ctx, "ep2"); err == nil {
		t.Fatal("a secret sealed for ep1 opened as ep2's")
	}
}

// Deletes racing updates retry like updates: every outcome is success,
// ErrNotFound (the other side deleted first) or ErrContention, never an
// untyped error.
func TestDeleteRacingUpdates(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	store := provision(t, srv.JS, keyring(t, newKey(t)))
	for round := range 5 {
		ep := valid(t)
		ep.ID = fmt.Sprintf("ep%d", round)
		if _, err := store.Create(ctx, ep); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 8 {
			wg.Go(func() {
				for j := range 5 {
					_, _, _, err := store.Update(ctx, ep.ID, func(e *endpoint.Endpoint) error {
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
				if _, err := store.Delete(ctx, ep.ID); err != nil && !errors.Is(err, endpoint.ErrNotFound) && !errors.Is(err, endpoint.ErrContention) {
					errs <- fmt.Errorf("delete: %w", err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// A delete that reported contention leaves the endpoint; delete it now.
		if _, err := store.Delete(ctx, ep.ID); err != nil && !errors.Is(err, endpoint.ErrNotFound) {
			t.Fatal(err)
		}
		if _, _, err := store.Get(ctx, ep.ID); !errors.Is(err, endpoint.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	}
}
