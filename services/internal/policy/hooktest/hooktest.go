// Package hooktest is the contract of app.HookStore: one list of cases
// every implementation passes (as Watermill's pubsub/tests), the NATS KV
// adapter against a real server and the in-memory one alike.
package hooktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/kvrecord/kvrecordtest"
	"github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

// Source is what a hook source offers the caller of hooks.
type Source interface {
	ForCommand(command string) []hook.Hook
}

// Subject is one fresh, empty store under test.
type Subject struct {
	Store app.HookStore
	// AtRest returns every stored revision of every record, as a reader
	// of the storage sees them (the KV bucket's history; the in-memory
	// adapter's encoded records).
	AtRest func(t *testing.T) [][]byte
	// Source is the store's hook source; Sync waits until it reflects
	// every write made so far.
	Source Source
	Sync   func(t *testing.T)
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
	kvrecordtest.Run(t, kind, func(t *testing.T) kvrecordtest.Store[hookrec.Entry] { return factory(t, Keyring(t)).Store })
}

// kind is the stored hook as the record machinery's cases change it.
var kind = kvrecordtest.Kind[hookrec.Entry]{
	Errors: kvrecord.Errors{NotFound: hookrec.ErrNotFound, Exists: hookrec.ErrExists, Contention: hookrec.ErrContention, NoChange: hookrec.ErrNoChange},
	Valid:  func(t *testing.T, id string) hookrec.Entry { return Valid(t, id, "member.invite") },
	// Valid's timeout is 2s; each bump adds a millisecond.
	Bump:  func(e *hookrec.Entry) { e.Hook.Timeout += time.Millisecond },
	Bumps: func(e hookrec.Entry) int { return int((e.Hook.Timeout - 2*time.Second) / time.Millisecond) },
	Vary: func(e *hookrec.Entry, i, j int) {
		e.Hook.URL = fmt.Sprintf("https://policy.example.com/%d-%d", i, j)
	},
}

var cases = []struct {
	name string
	run  func(t *testing.T, s Subject)
}{
	{"CreateGet", testCreateGet},
	{"UpdateWithRevision", testUpdateWithRevision},
	{"UpdateNoChange", testUpdateNoChange},
	{"UpdateAborted", testUpdateAborted},
	{"ListInCallOrder", testListInCallOrder},
	{"Delete", testDelete},
	{"SecretsSealedAtRest", testSecretsSealedAtRest},
	{"SourceForCommand", testSourceForCommand},
}

// Keyring is a fresh keyring of one random key (the webhook keyring seals
// hook secrets too).
func Keyring(t *testing.T) *endpoint.Keyring { return endpointtest.Keyring(t) }

// created is the creation time of the hooks Valid makes.
var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Valid is a valid standard hook on command with id and a fresh secret.
func Valid(t *testing.T, id, command string) hookrec.Entry {
	t.Helper()
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return hookrec.Entry{Hook: hook.Hook{
		ID: id, Command: command, URL: "https://policy.example.com/" + id, Format: hook.FormatStandard,
		Timeout: 2 * time.Second, OnFailure: hook.Deny, Secrets: []string{s}, CreatedAt: created, UpdatedAt: created,
	}, CreatedBy: "ops", UpdatedBy: "ops"}
}

func testCreateGet(t *testing.T, s Subject) {
	ctx := context.Background()
	e := Valid(t, "hk1", "member.invite")
	rev, err := s.Store.Create(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if rev == 0 {
		t.Fatal("create: revision 0")
	}
	got, grev, err := s.Store.Get(ctx, "hk1")
	if err != nil {
		t.Fatal(err)
	}
	if grev != rev {
		t.Fatalf("revision: want %d, have %d", rev, grev)
	}
	want := e.Hook
	h := got.Hook
	if h.ID != want.ID || h.Command != want.Command || h.URL != want.URL || h.Format != want.Format || h.Timeout != want.Timeout ||
		h.OnFailure != want.OnFailure || !h.CreatedAt.Equal(want.CreatedAt) || len(h.Secrets) != 1 || h.Secrets[0] != want.Secrets[0] ||
		got.CreatedBy != "ops" || got.UpdatedBy != "ops" {
		t.Fatalf("want %+v, have %+v", e, got)
	}
}

func testUpdateWithRevision(t *testing.T, s Subject) {
	ctx := context.Background()
	rev, err := s.Store.Create(ctx, Valid(t, "hk1", "member.invite"))
	if err != nil {
		t.Fatal(err)
	}
	e, urev, changed, err := s.Store.Update(ctx, "hk1", func(e *hookrec.Entry) error {
		e.Hook.OnFailure, e.UpdatedBy = hook.Allow, "alice"
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("update: changed %v, %v", changed, err)
	}
	if urev <= rev {
		t.Fatalf("update revision %d, want more than create's %d", urev, rev)
	}
	if e.Hook.OnFailure != hook.Allow {
		t.Fatalf("update returned %q", e.Hook.OnFailure)
	}
	got, grev, err := s.Store.Get(ctx, "hk1")
	if err != nil || got.Hook.OnFailure != hook.Allow || got.UpdatedBy != "alice" || got.CreatedBy != "ops" || grev != urev {
		t.Fatalf("get after update: %+v rev %d (want %d), %v", got, grev, urev, err)
	}
}

func testUpdateNoChange(t *testing.T, s Subject) {
	ctx := context.Background()
	rev, err := s.Store.Create(ctx, Valid(t, "hk1", "member.invite"))
	if err != nil {
		t.Fatal(err)
	}
	_, urev, changed, err := s.Store.Update(ctx, "hk1", func(*hookrec.Entry) error { return hookrec.ErrNoChange })
	if err != nil || changed || urev != rev {
		t.Fatalf("no-change update: changed %v, rev %d (want %d), %v", changed, urev, rev, err)
	}
}

func testUpdateAborted(t *testing.T, s Subject) {
	ctx := context.Background()
	if _, err := s.Store.Create(ctx, Valid(t, "hk1", "member.invite")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("refused")
	if _, _, _, err := s.Store.Update(ctx, "hk1", func(e *hookrec.Entry) error {
		e.Hook.URL = "https://lost.example.com"
		e.Hook.Secrets[0] = "lost"
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("aborted update: want the function's error, have %v", err)
	}
	got, _, _ := s.Store.Get(ctx, "hk1")
	if got.Hook.URL == "https://lost.example.com" || got.Hook.Secrets[0] == "lost" {
		t.Fatalf("an aborted update was written: %+v", got.Hook)
	}
}

// List is in call order: creation time, then id; not by id alone.
func testListInCallOrder(t *testing.T, s Subject) {
	ctx := context.Background()
	if es, err := s.Store.List(ctx); err != nil || len(es) != 0 {
		t.Fatalf("empty list: %d, %v", len(es), err)
	}
	for i, id := range []string{"c", "a", "b", "d"} {
		e := Valid(t, id, "member.invite")
		if id != "d" { // d shares b's creation time and sorts after it by id
			e.Hook.CreatedAt = created.Add(time.Duration(i) * time.Second)
		} else {
			e.Hook.CreatedAt = created.Add(2 * time.Second)
		}
		if _, err := s.Store.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.Store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Hook.ID)
		if len(e.Hook.Secrets) != 1 || e.Hook.Secrets[0] == "" {
			t.Fatalf("list: %s without its secret", e.Hook.ID)
		}
	}
	if fmt.Sprint(ids) != "[c a b d]" {
		t.Fatalf("list: want [c a b d], have %v", ids)
	}
}

func testDelete(t *testing.T, s Subject) {
	ctx := context.Background()
	e := Valid(t, "hk1", "member.invite")
	if _, err := s.Store.Create(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Store.Delete(ctx, "hk1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Hook.ID != "hk1" || got.Hook.Secrets[0] != e.Hook.Secrets[0] {
		t.Fatalf("delete returned %+v", got)
	}
	if _, _, err := s.Store.Get(ctx, "hk1"); !errors.Is(err, hookrec.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := s.Store.Create(ctx, Valid(t, "hk1", "member.join")); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
}

func testSecretsSealedAtRest(t *testing.T, s Subject) {
	ctx := context.Background()
	e := Valid(t, "hk1", "member.invite")
	first := e.Hook.Secrets[0]
	if _, err := s.Store.Create(ctx, e); err != nil {
		t.Fatal(err)
	}
	next := Valid(t, "x", "member.invite").Hook.Secrets[0]
	if _, _, _, err := s.Store.Update(ctx, "hk1", func(e *hookrec.Entry) error {
		e.Hook.Secrets = []string{next}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	revs := s.AtRest(t)
	if len(revs) < 2 {
		t.Fatalf("%d records at rest, want both revisions", len(revs))
	}
	endpointtest.NoSecretAtRest(t, revs, first, next)
	got, _, err := s.Store.Get(ctx, "hk1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hook.Secrets) != 1 || got.Hook.Secrets[0] != next {
		t.Fatal("secret read back is not the one written")
	}
}

// The source serves each command's hooks in call order, secrets opened,
// and follows updates and deletes.
func testSourceForCommand(t *testing.T, s Subject) {
	ctx := context.Background()
	a, b, c := Valid(t, "z-first", "member.invite"), Valid(t, "a-second", "member.invite"), Valid(t, "other", "group.create")
	b.Hook.CreatedAt = created.Add(time.Second)
	for _, e := range []hookrec.Entry{b, c, a} {
		if _, err := s.Store.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync(t)
	got := s.Source.ForCommand("member.invite")
	if len(got) != 2 || got[0].ID != "z-first" || got[1].ID != "a-second" {
		t.Fatalf("member.invite hooks: want [z-first a-second], have %v", ids(got))
	}
	if got[0].Secrets[0] != a.Hook.Secrets[0] {
		t.Fatal("the source's secret is not the plaintext one")
	}
	if n := len(s.Source.ForCommand("member.remove")); n != 0 {
		t.Fatalf("member.remove: want no hooks, have %d", n)
	}
	if _, _, _, err := s.Store.Update(ctx, "z-first", func(e *hookrec.Entry) error { e.Hook.OnFailure = hook.Allow; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Delete(ctx, "a-second"); err != nil {
		t.Fatal(err)
	}
	s.Sync(t)
	got = s.Source.ForCommand("member.invite")
	if len(got) != 1 || got[0].ID != "z-first" || got[0].OnFailure != hook.Allow {
		t.Fatalf("after update and delete: %+v", got)
	}
	if got := s.Source.ForCommand("group.create"); len(got) != 1 || got[0].ID != "other" {
		t.Fatalf("group.create: %v", ids(got))
	}
}

func ids(hs []hook.Hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}
