package hookkv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy/adapters/hookkv"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

func provision(t *testing.T, js jetstream.JetStream, keys *endpoint.Keyring) *hookkv.Store {
	t.Helper()
	// Generous: the machine may be busy with other suites, and a JetStream
	// request without a deadline gives up after 5s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := hookkv.Provision(ctx, js, 1, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runView runs a view on js until the test ends.
func runView(t *testing.T, js jetstream.JetStream, keys *endpoint.Keyring) *hookkv.View {
	t.Helper()
	v := hookkv.NewView(hookkv.ViewConfig{JS: js, Keys: keys, Log: zerolog.Nop(), Retry: 20 * time.Millisecond, Check: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("view: %v", err)
		}
	})
	return v
}

// lastRev is the bucket's last revision (the stream's last sequence).
func lastRev(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), "KV_"+hookrec.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// The KV adapter and its view pass the store contract against a real
// server (one per case: the bucket name is fixed).
func TestContract(t *testing.T) {
	hooktest.Run(t, func(t *testing.T, keys *endpoint.Keyring) hooktest.Subject {
		srv := natstest.Start(t)
		s := provision(t, srv.JS, keys)
		v := runView(t, srv.JS, keys)
		return hooktest.Subject{
			Store: s, AtRest: func(t *testing.T) [][]byte { return natstest.KVHistory(t, srv.JS, hookrec.Bucket) }, Source: v,
			Sync: func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := v.WaitRevision(ctx, lastRev(t, srv.JS)); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// Before roster-policy ever ran there is no bucket: the view is ready
// and empty (nothing is guarded), and picks the hooks up once the bucket
// appears, without a restart.
func TestViewWaitsForTheBucket(t *testing.T) {
	srv := natstest.Start(t)
	keys := hooktest.Keyring(t)
	v := runView(t, srv.JS, keys)
	natstest.Eventually(t, 15*time.Second, func() error {
		if !v.Ready() {
			return errors.New("not ready without a bucket")
		}
		return nil
	})
	if n := len(v.ForCommand("member.invite")); n != 0 {
		t.Fatalf("want no hooks, have %d", n)
	}
	s := provision(t, srv.JS, keys)
	if _, err := s.Create(context.Background(), hooktest.Valid(t, "hk1", "member.invite")); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 15*time.Second, func() error {
		if hs := v.ForCommand("member.invite"); len(hs) != 1 || hs[0].ID != "hk1" {
			return errors.New("hook not seen yet")
		}
		return nil
	})
}

// A hook whose secret does not open (written under a key the reader does
// not hold) still guards its command: it is served without secrets, so
// its call fails and its on_failure applies; it is never dropped.
func TestViewKeepsHooksWhoseSecretDoesNotOpen(t *testing.T) {
	srv := natstest.Start(t)
	s := provision(t, srv.JS, hooktest.Keyring(t))
	e := hooktest.Valid(t, "hk1", "member.invite")
	if _, err := s.Create(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	v := runView(t, srv.JS, hooktest.Keyring(t)) // another key
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := v.WaitRevision(ctx, lastRev(t, srv.JS)); err != nil {
		t.Fatal(err)
	}
	hs := v.ForCommand("member.invite")
	if len(hs) != 1 || hs[0].ID != "hk1" || len(hs[0].Secrets) != 0 || hs[0].OnFailure != hook.Deny {
		t.Fatalf("want hk1 without secrets, have %+v", hs)
	}
	if v.Broken() != 1 {
		t.Fatalf("broken: want 1, have %d", v.Broken())
	}
}

// A plaintext record (written before a key was configured) is sealed by
// its next write, and its plaintext history is purged.
func TestLegacyPlaintextSealedOnWrite(t *testing.T) {
	srv := natstest.Start(t)
	plain := provision(t, srv.JS, nil)
	e := hooktest.Valid(t, "hk1", "member.invite")
	if _, err := plain.Create(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	sealed := provision(t, srv.JS, hooktest.Keyring(t))
	if _, _, _, err := sealed.Update(context.Background(), "hk1", func(e *hookrec.Entry) error { e.Hook.OnFailure = hook.Allow; return nil }); err != nil {
		t.Fatal(err)
	}
	endpointtest.NoSecretAtRest(t, natstest.KVHistory(t, srv.JS, hookrec.Bucket), e.Hook.Secrets[0])
	got, _, err := sealed.Get(context.Background(), "hk1")
	if err != nil || got.Hook.Secrets[0] != e.Hook.Secrets[0] {
		t.Fatalf("read back: %v", err)
	}
	// A reader without a key refuses a sealed record instead of serving it
	// with an empty secret.
	if _, _, err := plain.Get(context.Background(), "hk1"); !errors.Is(err, hookrec.ErrNoKey) {
		t.Fatalf("keyless get of a sealed record: want ErrNoKey, have %v", err)
	}
}
