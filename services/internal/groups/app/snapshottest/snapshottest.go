// Package snapshottest is the contract of roster-groups' snapshot-store
// port (app.SnapshotStore): one list of named cases that every
// implementation must pass, the JetStream object store included. A test
// calls Run with a factory for the store under test:
//
//	snapshottest.Run(t, func(t *testing.T) app.SnapshotStore { ... })
package snapshottest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

// Factory returns a store under test. Stores from one factory may share
// their storage: every case uses group ids of its own.
type Factory func(t *testing.T) app.SnapshotStore

// Case is one named check of the contract.
type Case struct {
	Name string
	Run  func(t *testing.T, newStore Factory)
}

// Cases is the contract, in the order Run runs it.
var Cases = []Case{
	{"MissingIsErrNoSnapshot", testMissing},
	{"PutThenGetRoundTrips", testRoundTrip},
	{"EmptyGroupComesBackWritable", testEmptyMaps},
	{"PutReplaces", testPutReplaces},
	{"NoSharedMutableState", testNoSharing},
	{"GroupsAreIndependent", testIndependent},
	{"ConcurrentPuts", testConcurrent},
	{"LargeGroup", testLarge},
}

// Run runs every case as a subtest.
func Run(t *testing.T, newStore Factory) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, newStore) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// groupID is a group id unique to the running case (group ids are single
// subject tokens: no dots).
func groupID(t *testing.T, name string) string {
	r := strings.NewReplacer("/", "_", ".", "_", " ", "_")
	return r.Replace(t.Name()) + "_" + name
}

// Aggregate builds a group of n members, one pending request and an
// idempotency index, at a stream sequence and version of its own: every
// field a snapshot must keep holds a value.
func Aggregate(id string, n int) *app.Aggregate {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	a := app.NewAggregate(id)
	st := a.State
	st.Exists, st.Name, st.Intro, st.JoinPolicy, st.Owner, st.Muted = true, "name "+id, "intro", events.PolicyApproval, "owner", true
	st.CreatedAt, st.UpdatedAt = at, at.Add(time.Hour)
	st.Creator, st.FaceURL, st.Ex, st.LookMemberInfo, st.ApplyMemberFriend = "owner", "https://f/g.png", "{\"k\":1}", 1, 1
	st.Notification, st.NotificationUserID, st.NotificationUpdatedAt = "read me", "owner", at.Add(time.Minute)
	st.Members["owner"] = &group.Member{Role: events.RoleOwner, JoinedAt: at, JoinedVersion: 1, Profile: &events.Profile{Nickname: "boss"}, JoinSource: events.JoinByInvitation}
	for i := range n {
		st.Members[fmt.Sprintf("u%06d", i)] = &group.Member{
			Role: events.RoleMember, JoinedAt: at.Add(time.Duration(i) * time.Second), JoinedVersion: uint64(i + 2),
			Inviter: "owner", MutedUntil: at.Add(24 * time.Hour),
			Profile: &events.Profile{Nickname: "n", FaceURL: "f", Ex: "x"}, JoinSource: events.JoinByInvitation, InviterUserID: "owner",
		}
	}
	st.Pending["asker"] = group.JoinRequest{Message: "let me in", RequestedAt: at, Inviter: "u000000", Source: events.JoinByInvitation, Ex: "e"}
	st.Version = uint64(n + 2)
	a.Seq, a.SnapshotVersion = uint64(1000+n), st.Version
	a.Commands["c1"] = app.CommandRecord{Seq: 7, LastVersion: 1}
	a.Commands["c2"] = app.CommandRecord{Seq: 9, LastVersion: 2}
	a.Order = []string{"c1", "c2"}
	return a
}

// same reports whether two aggregates hold the same values (times by
// instant, as JSON renders them).
func same(t *testing.T, want, have *app.Aggregate) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	h, err := json.Marshal(have)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(h) {
		if len(w) > 600 {
			w, h = w[:600], h[:min(len(h), 600)]
		}
		t.Fatalf("snapshot differs:\nwant %s\nhave %s", w, h)
	}
}

func get(t *testing.T, ctx context.Context, s app.SnapshotStore, id string) *app.Aggregate {
	t.Helper()
	a, err := s.Get(ctx, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	if a == nil || a.State == nil {
		t.Fatalf("get %s: no aggregate and no error", id)
	}
	return a
}

func put(t *testing.T, ctx context.Context, s app.SnapshotStore, a *app.Aggregate) {
	t.Helper()
	if err := s.Put(ctx, a); err != nil {
		t.Fatalf("put %s: %v", a.State.ID, err)
	}
}

func testMissing(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	if a, err := s.Get(ctx, groupID(t, "never")); !errors.Is(err, app.ErrNoSnapshot) {
		t.Fatalf("want ErrNoSnapshot, have %v (%v)", err, a)
	}
}

func testRoundTrip(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	want := Aggregate(groupID(t, "g"), 10)
	put(t, ctx, s, want)
	same(t, want, get(t, ctx, s, want.State.ID))
}

func testEmptyMaps(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	id := groupID(t, "empty")
	put(t, ctx, s, app.NewAggregate(id))
	a := get(t, ctx, s, id)
	// The repository folds events into what Get returns: its maps must
	// take writes.
	a.State.Members["x"] = &group.Member{}
	a.State.Pending["y"] = group.JoinRequest{}
	a.Commands["z"] = app.CommandRecord{}
	if a.State.ID != id || a.State.Version != 0 || a.Seq != 0 {
		t.Fatalf("empty group came back as %+v (seq %d)", a.State, a.Seq)
	}
}

func testPutReplaces(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	id := groupID(t, "g")
	put(t, ctx, s, Aggregate(id, 3))
	newer := Aggregate(id, 5)
	put(t, ctx, s, newer)
	same(t, newer, get(t, ctx, s, id))
}

func testNoSharing(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	id := groupID(t, "g")
	a := Aggregate(id, 3)
	put(t, ctx, s, a)
	want := Aggregate(id, 3)
	// The repository keeps folding into the aggregate it snapshotted.
	a.State.Members["u000000"].Role = events.RoleAdmin
	a.State.Members["late"] = &group.Member{}
	a.Commands["c3"] = app.CommandRecord{Seq: 99}
	a.State.Version++
	first := get(t, ctx, s, id)
	same(t, want, first)
	first.State.Members["u000001"].Role = events.RoleAdmin
	delete(first.State.Members, "owner")
	same(t, want, get(t, ctx, s, id))
}

func testIndependent(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	a, b := Aggregate(groupID(t, "a"), 2), Aggregate(groupID(t, "b"), 4)
	put(t, ctx, s, a)
	put(t, ctx, s, b)
	same(t, a, get(t, ctx, s, a.State.ID))
	same(t, b, get(t, ctx, s, b.State.ID))
}

func testConcurrent(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(ctx, Aggregate(groupID(t, fmt.Sprint(i)), i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		same(t, Aggregate(groupID(t, fmt.Sprint(i)), i), get(t, ctx, s, groupID(t, fmt.Sprint(i))))
	}
}

// testLarge: a group of 20,000 members (snapshots exist for large groups)
// round-trips whole.
func testLarge(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t)
	want := Aggregate(groupID(t, "big"), 20_000)
	put(t, ctx, s, want)
	have := get(t, ctx, s, want.State.ID)
	if len(have.State.Members) != len(want.State.Members) {
		t.Fatalf("want %d members, have %d", len(want.State.Members), len(have.State.Members))
	}
	same(t, want, have)
}
