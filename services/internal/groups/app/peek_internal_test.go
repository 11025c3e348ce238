package app

import (
	"strconv"
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// TestPeekCopiesOnlyWhatTheHooksRead: the policy hooks' copy of a group
// holds its fields, the actor's membership (a copy) and the counts, never
// every member, so a guarded command costs the same in any group size.
func TestPeekCopiesOnlyWhatTheHooksRead(t *testing.T) {
	s := group.New("G")
	s.Exists, s.Owner, s.Ex, s.Version = true, "o", "group-ex", 7
	for _, u := range []string{"o", "m1", "m2"} {
		s.Members[u] = &group.Member{Role: events.RoleMember}
	}
	s.Pending["p"] = group.JoinRequest{Message: "hi"}

	p := peekCopy(s, "m1")
	if p.Members != 3 || p.Pending != 1 {
		t.Errorf("counts: want 3 members and 1 pending, have %d and %d", p.Members, p.Pending)
	}
	if len(p.State.Members) != 1 || p.State.Members["m1"] == nil || len(p.State.Pending) != 0 {
		t.Errorf("want the actor's membership only, have %v %v", p.State.Members, p.State.Pending)
	}
	if p.State.Ex != "group-ex" || p.State.Owner != "o" || p.State.Version != 7 || p.State.Role("m1") != events.RoleMember {
		t.Errorf("group fields: %+v", p.State)
	}
	p.State.Members["m1"].Role = events.RoleAdmin
	p.State.Owner = "x"
	if s.Members["m1"].Role != events.RoleMember || s.Owner != "o" || len(s.Members) != 3 {
		t.Error("changing the copy changed the group")
	}
	if q := peekCopy(s, "stranger"); len(q.State.Members) != 0 || q.State.Role("stranger") != "" {
		t.Errorf("a non-member actor: %v", q.State.Members)
	}
}

// BenchmarkPeek100k: the hooks' copy of a 100,000-member group beside the
// full copy it replaced (cloneState, which snapshots still take).
func BenchmarkPeek100k(b *testing.B) {
	s := group.New("G")
	s.Exists, s.Owner = true, "o"
	for i := range 100_000 {
		s.Members["u"+strconv.Itoa(i)] = &group.Member{Role: events.RoleMember}
	}
	b.Run("peek", func(b *testing.B) {
		for b.Loop() {
			_ = peekCopy(s, "o")
		}
	})
	b.Run("full-copy-baseline", func(b *testing.B) {
		for b.Loop() {
			_ = cloneState(s)
		}
	})
}
