// Package readmodeltest is the contract of app.ReadModel, in the style of
// Watermill's pubsub/tests: one Run with a list of cases, which every
// adapter (the NATS KV one, the in-memory one) must pass.
package readmodeltest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// Factory returns an empty read model of generation gen, private to the
// test.
type Factory func(t *testing.T, gen uint64) app.ReadModel

// Case is one test of the contract.
type Case struct {
	Name string
	Test func(t *testing.T, m app.ReadModel)
}

// Cases are the contract's tests.
var Cases = []Case{
	{"MissingIsNotFound", testMissingIsNotFound},
	{"WriteThenRead", testWriteThenRead},
	{"InfoCompareAndSet", testInfoCompareAndSet},
	{"RemovedMemberIsGone", testRemovedMemberIsGone},
	{"PagesInWriteOrder", testPagesInWriteOrder},
	{"KeepFiltersWithoutCounting", testKeepFilters},
	{"WatchInfoDeliversReachedVersion", testWatchInfo},
	{"OpenIMFieldsRoundTrip", testOpenIMFields},
}

// Run runs every case against a fresh model from factory.
func Run(t *testing.T, factory Factory) {
	for i, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			gen := uint64(100 + i)
			m := factory(t, gen)
			if have := m.Generation(); have != gen {
				t.Fatalf("Generation: want %d, have %d", gen, have)
			}
			c.Test(t, m)
		})
	}
}

var at = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// state is a group at version v with the given members (the first owns it).
func state(id string, v uint64, users ...string) *group.State {
	s := group.New(id)
	s.Version, s.Exists, s.Name, s.JoinPolicy = v, true, "name "+id, events.PolicyOpen
	s.CreatedAt, s.UpdatedAt = at, at.Add(time.Duration(v)*time.Second)
	for i, u := range users {
		role := events.RoleMember
		if i == 0 {
			role, s.Owner = events.RoleOwner, u
		}
		s.Members[u] = &group.Member{Role: role, JoinedAt: at, JoinedVersion: 1, Inviter: s.Owner}
	}
	return s
}

func touched(users ...string) map[string]bool {
	out := map[string]bool{}
	for _, u := range users {
		out[u] = true
	}
	return out
}

// write stores ws as the projector does: members, then infos.
func write(t *testing.T, m app.ReadModel, ws ...*app.GroupWrite) {
	t.Helper()
	ctx := context.Background()
	if err := m.WriteMembers(ctx, ws); err != nil {
		t.Fatalf("WriteMembers: %v", err)
	}
	if err := m.WriteInfos(ctx, ws); err != nil {
		t.Fatalf("WriteInfos: %v", err)
	}
}

func members(t *testing.T, m app.ReadModel, groupID string) []string {
	t.Helper()
	var out []string
	if _, more, err := m.Members(context.Background(), groupID, 0, -1, func(mb app.Member) bool {
		out = append(out, mb.UserID)
		return true
	}); err != nil || more {
		t.Fatalf("Members(%s): more %v, err %v", groupID, more, err)
	}
	return out
}

func testMissingIsNotFound(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	if _, rev, err := m.GroupInfo(ctx, "nope"); !errors.Is(err, events.ErrNotFound) || rev != 0 {
		t.Fatalf("GroupInfo of a missing group: want not_found and revision 0, have %d %v", rev, err)
	}
	if _, err := m.Member(ctx, "nope", "u"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("Member of a missing group: want not_found, have %v", err)
	}
	if have := members(t, m, "nope"); len(have) != 0 {
		t.Fatalf("Members of a missing group: %v", have)
	}
}

func testWriteThenRead(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	s := state("G", 3, "o", "a", "b")
	s.Members["a"].MutedUntil = at.Add(time.Hour)
	w := &app.GroupWrite{State: s, Touched: touched("o", "a", "b"), AppliedSeq: 7, FirstSeq: 2}
	write(t, m, w)
	if w.InfoRev == 0 {
		t.Fatal("WriteInfos did not set InfoRev")
	}
	info, rev, err := m.GroupInfo(ctx, "G")
	if err != nil || rev != w.InfoRev {
		t.Fatalf("GroupInfo: revision %d (want %d), %v", rev, w.InfoRev, err)
	}
	if want := app.InfoFromState(s, 7, 2); !reflect.DeepEqual(info, want) {
		t.Fatalf("GroupInfo:\nwant %+v\nhave %+v", want, info)
	}
	for u, sm := range s.Members {
		mb, err := m.Member(ctx, "G", u)
		if err != nil {
			t.Fatal(err)
		}
		if want := app.MemberFromState("G", u, sm); !reflect.DeepEqual(mb, want) {
			t.Fatalf("Member %s:\nwant %+v\nhave %+v", u, want, mb)
		}
	}
	have := members(t, m, "G")
	sort.Strings(have)
	if !reflect.DeepEqual(have, []string{"a", "b", "o"}) {
		t.Fatalf("Members: %v", have)
	}
	var ugs []app.UserGroup
	if _, _, err := m.UserGroups(ctx, "a", 0, -1, func(ug app.UserGroup) bool { ugs = append(ugs, ug); return true }); err != nil {
		t.Fatal(err)
	}
	if want := []app.UserGroup{app.UserGroupFromState("G", s.Members["a"])}; !reflect.DeepEqual(ugs, want) {
		t.Fatalf("UserGroups:\nwant %+v\nhave %+v", want, ugs)
	}
}

func testInfoCompareAndSet(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	w := &app.GroupWrite{State: state("G", 1, "o"), Touched: touched("o"), AppliedSeq: 1, FirstSeq: 1}
	write(t, m, w)
	stale := &app.GroupWrite{State: state("G", 2, "o"), AppliedSeq: 2, FirstSeq: 1}
	if err := m.WriteInfos(ctx, []*app.GroupWrite{stale}); err == nil {
		t.Fatal("WriteInfos expecting no record over an existing one: want an error")
	}
	next := &app.GroupWrite{State: state("G", 2, "o"), AppliedSeq: 2, FirstSeq: 1, InfoRev: w.InfoRev}
	if err := m.WriteInfos(ctx, []*app.GroupWrite{next}); err != nil {
		t.Fatal(err)
	}
	if next.InfoRev <= w.InfoRev {
		t.Fatalf("revision did not grow: %d after %d", next.InfoRev, w.InfoRev)
	}
	lost := &app.GroupWrite{State: state("G", 3, "o"), AppliedSeq: 3, FirstSeq: 1, InfoRev: w.InfoRev}
	if err := m.WriteInfos(ctx, []*app.GroupWrite{lost}); err == nil {
		t.Fatal("WriteInfos with a stale revision: want an error")
	}
	if info, _, err := m.GroupInfo(ctx, "G"); err != nil || info.Version != 2 {
		t.Fatalf("after a lost CAS: version %d (want 2), %v", info.Version, err)
	}
}

func testRemovedMemberIsGone(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	w := &app.GroupWrite{State: state("G", 1, "o", "a", "b"), Touched: touched("o", "a", "b"), AppliedSeq: 1, FirstSeq: 1}
	write(t, m, w)
	s := state("G", 2, "o", "b")
	w2 := &app.GroupWrite{State: s, Touched: touched("a"), AppliedSeq: 2, FirstSeq: 1, InfoRev: w.InfoRev}
	write(t, m, w2)
	if _, err := m.Member(ctx, "G", "a"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("removed member: want not_found, have %v", err)
	}
	have := members(t, m, "G")
	sort.Strings(have)
	if !reflect.DeepEqual(have, []string{"b", "o"}) {
		t.Fatalf("Members after a removal: %v", have)
	}
	n := 0
	if _, _, err := m.UserGroups(ctx, "a", 0, -1, func(app.UserGroup) bool { n++; return true }); err != nil || n != 0 {
		t.Fatalf("UserGroups of a removed member: %d entries, %v", n, err)
	}
	if info, _, _ := m.GroupInfo(ctx, "G"); info.MemberCount != 2 {
		t.Fatalf("member count %d, want 2", info.MemberCount)
	}
}

func testPagesInWriteOrder(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	var users []string
	for i := range 10 {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	s := state("G", 1, users...)
	var rev uint64
	// One write per member, so write order is known.
	for _, u := range users {
		w := &app.GroupWrite{State: s, Touched: touched(u), AppliedSeq: 1, FirstSeq: 1, InfoRev: rev}
		write(t, m, w)
		rev = w.InfoRev
	}
	page := func(after uint64) ([]string, uint64, bool) {
		var out []string
		next, more, err := m.Members(ctx, "G", after, 3, func(mb app.Member) bool { out = append(out, mb.UserID); return true })
		if err != nil {
			t.Fatal(err)
		}
		return out, next, more
	}
	var have []string
	after, pages := uint64(0), 0
	for {
		p, next, more := page(after)
		if len(p) > 3 {
			t.Fatalf("page of %d, limit 3", len(p))
		}
		have = append(have, p...)
		pages++
		if !more {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		after = next
		if pages == 2 {
			// Rewritten while paging: it moves to the end, so it is seen
			// again, never skipped.
			write(t, m, &app.GroupWrite{State: s, Touched: touched("u00"), AppliedSeq: 1, FirstSeq: 1, InfoRev: rev})
		}
	}
	want := append(append([]string{}, users...), "u00")
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("pages in write order:\nwant %v\nhave %v", want, have)
	}
}

func testKeepFilters(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	s := state("G", 1, "o", "a", "b", "c", "d")
	var rev uint64
	for _, u := range []string{"o", "a", "b", "c", "d"} {
		w := &app.GroupWrite{State: s, Touched: touched(u), AppliedSeq: 1, FirstSeq: 1, InfoRev: rev}
		write(t, m, w)
		rev = w.InfoRev
	}
	var kept []string
	_, more, err := m.Members(ctx, "G", 0, 2, func(mb app.Member) bool {
		if mb.UserID == "o" || mb.UserID == "a" {
			return false
		}
		kept = append(kept, mb.UserID)
		return true
	})
	if err != nil || !more || !reflect.DeepEqual(kept, []string{"b", "c"}) {
		t.Fatalf("kept %v (want [b c]), more %v (want true), %v", kept, more, err)
	}
}

func testWatchInfo(t *testing.T, m app.ReadModel) {
	w := &app.GroupWrite{State: state("G", 1, "o"), Touched: touched("o"), AppliedSeq: 1, FirstSeq: 1}
	write(t, m, w)
	watch, err := m.WatchInfo("G", 3)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	other, err := m.WatchInfo("H", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	w2 := &app.GroupWrite{State: state("G", 2, "o"), AppliedSeq: 2, FirstSeq: 1, InfoRev: w.InfoRev}
	write(t, m, w2)
	w3 := &app.GroupWrite{State: state("G", 3, "o"), AppliedSeq: 3, FirstSeq: 1, InfoRev: w2.InfoRev}
	write(t, m, w3)
	select {
	case gi := <-watch.Reached():
		if gi.GroupID != "G" || gi.Version != 3 {
			t.Fatalf("reached: %+v, want G at version 3", gi)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait was not told version 3 arrived")
	}
	select {
	case gi := <-other.Reached():
		t.Fatalf("a wait on H was told %+v", gi)
	default:
	}
}

// OpenIM's group and member fields (issue 12) are stored and read back as
// written, on the fast encoding path (verbatim non-ASCII text) and off it
// (a quote in ex), and StateFrom resumes the fold with them.
func testOpenIMFields(t *testing.T, m app.ReadModel) {
	ctx := context.Background()
	s := state("G", 5, "o", "a", "b")
	s.Creator, s.FaceURL, s.Ex, s.LookMemberInfo, s.ApplyMemberFriend = "o", "https://f/g.png", `{"k":"v"}`, 1, 1
	s.Notification, s.NotificationUserID, s.NotificationUpdatedAt = "Read me\nplease", "a", at.Add(time.Minute)
	s.Muted = true
	s.Members["o"].JoinSource = events.JoinByInvitation
	a := s.Members["a"]
	a.Profile = &events.Profile{Nickname: "Café 名前 😀", FaceURL: "https://f/a.png", Ex: "plain ex"}
	a.JoinSource, a.InviterUserID = events.JoinByInvitation, "o"
	b := s.Members["b"]
	b.Profile = &events.Profile{Nickname: "B", Ex: `{"level":"<3>"}`}
	b.JoinSource, b.Inviter = events.JoinByQRCode, "a"
	w := &app.GroupWrite{State: s, Touched: touched("o", "a", "b"), AppliedSeq: 9, FirstSeq: 1}
	write(t, m, w)
	info, _, err := m.GroupInfo(ctx, "G")
	if err != nil {
		t.Fatal(err)
	}
	if want := app.InfoFromState(s, 9, 1); !reflect.DeepEqual(info, want) {
		t.Fatalf("GroupInfo:\nwant %+v\nhave %+v", want, info)
	}
	if info.Status != 3 || info.Creator != "o" || info.NotificationUserID != "a" || info.NotificationUpdatedAt == nil || !info.NotificationUpdatedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("GroupInfo OpenIM fields: %+v", info)
	}
	stored := map[string]*group.Member{}
	if _, _, err := m.Members(ctx, "G", 0, -1, func(mb app.Member) bool {
		if want := app.MemberFromState("G", mb.UserID, s.Members[mb.UserID]); !reflect.DeepEqual(mb, want) {
			t.Errorf("Member %s:\nwant %+v\nhave %+v", mb.UserID, want, mb)
		}
		stored[mb.UserID] = mb.State()
		return true
	}); err != nil {
		t.Fatal(err)
	}
	back := app.StateFrom(info, stored)
	if back.Creator != s.Creator || back.FaceURL != s.FaceURL || back.Ex != s.Ex || back.Notification != s.Notification ||
		back.NotificationUserID != s.NotificationUserID || !back.NotificationUpdatedAt.Equal(s.NotificationUpdatedAt) ||
		back.LookMemberInfo != 1 || back.ApplyMemberFriend != 1 || back.Status() != s.Status() {
		t.Fatalf("StateFrom lost group fields: %+v", back)
	}
	if !reflect.DeepEqual(back.Members["a"], s.Members["a"]) || !reflect.DeepEqual(back.Members["b"], s.Members["b"]) {
		t.Fatalf("StateFrom lost member fields: %+v %+v", back.Members["a"], back.Members["b"])
	}
	// A member's info change rewrites only that member.
	b.Profile = &events.Profile{Nickname: "Bee", Ex: b.Profile.Ex}
	w2 := &app.GroupWrite{State: s, Touched: touched("b"), AppliedSeq: 10, FirstSeq: 1, InfoRev: w.InfoRev}
	s.Version = 6
	write(t, m, w2)
	if mb, err := m.Member(ctx, "G", "b"); err != nil || mb.Nickname != "Bee" || mb.Ex != `{"level":"<3>"}` {
		t.Fatalf("after set_info: %+v, %v", mb, err)
	}
}
