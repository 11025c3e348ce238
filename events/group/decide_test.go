package group_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// builder folds decided commands into a state, as the command service does.
type builder struct {
	t *testing.T
	s *group.State
}

func newGroup(t *testing.T, policy events.JoinPolicy) *builder {
	t.Helper()
	b := &builder{t: t, s: group.New("G")}
	b.do("o", group.Create{Name: "G", JoinPolicy: policy, Members: []string{"m1", "m2"}})
	b.do("o", group.Invite{UserIDs: []string{"adm", "adm2"}})
	b.do("o", group.SetRole{UserID: "adm", Role: events.RoleAdmin})
	b.do("o", group.SetRole{UserID: "adm2", Role: events.RoleAdmin})
	return b
}

func (b *builder) do(actor string, cmd group.Command) []group.Change {
	b.t.Helper()
	changes, err := group.Decide(b.s, actor, cmd, t0)
	if err != nil {
		b.t.Fatalf("%s by %s: %v", cmd.Kind(), actor, err)
	}
	for _, c := range changes {
		data, err := json.Marshal(c.Data)
		if err != nil {
			b.t.Fatal(err)
		}
		e := events.Event{ID: fmt.Sprintf("e%d", b.s.Version+1), Type: c.Type, SchemaVersion: events.SchemaVersions[c.Type],
			GroupID: "G", Version: b.s.Version + 1, OccurredAt: t0, Actor: actor, Data: data}
		if _, err := b.s.Apply(e); err != nil {
			b.t.Fatalf("apply %s: %v", c.Type, err)
		}
	}
	return changes
}

func TestDecideRules(t *testing.T) {
	name := "New name"
	open := events.PolicyOpen
	tests := []decideCase{
		// create
		{name: "create twice", actor: "o", cmd: group.Create{Name: "x"}, want: events.CodeAlreadyExists},
		{name: "create on a fresh id works", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: "x"}, types: []events.Type{events.GroupCreated}},
		{name: "create needs a name", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: " "}, want: events.CodeInvalidArgument},
		{name: "create rejects a bad policy", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: "x", JoinPolicy: "secret"}, want: events.CodeInvalidArgument},
		{name: "create rejects owner among members", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: "x", Members: []string{"o"}}, want: events.CodeInvalidArgument},
		{name: "create rejects duplicate members", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: "x", Members: []string{"a", "a"}}, want: events.CodeInvalidArgument},
		{name: "create rejects unsafe member ids", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Create{Name: "x", Members: []string{"a.b"}}, want: events.CodeInvalidArgument},
		{name: "command on missing group", actor: "o", setup: func(b *builder) { b.s = group.New("H") }, cmd: group.Invite{UserIDs: []string{"x"}}, want: events.CodeNotFound},
		// update
		{name: "owner updates", actor: "o", cmd: group.Update{Name: &name}, types: []events.Type{events.GroupUpdated}},
		{name: "admin updates", actor: "adm", cmd: group.Update{JoinPolicy: &open}, types: []events.Type{events.GroupUpdated}},
		{name: "member may not update", actor: "m1", cmd: group.Update{Name: &name}, want: events.CodeForbidden},
		{name: "outsider may not update", actor: "x", cmd: group.Update{Name: &name}, want: events.CodeForbidden},
		{name: "update that changes nothing", actor: "o", cmd: group.Update{Name: strp("G")}, want: events.CodeFailedPrecondition},
		// dismiss
		{name: "owner dismisses", actor: "o", cmd: group.Dismiss{}, types: []events.Type{events.GroupDismissed}},
		{name: "admin may not dismiss", actor: "adm", cmd: group.Dismiss{}, want: events.CodeForbidden},
		{name: "dismissed group takes no commands", actor: "o", setup: func(b *builder) { b.do("o", group.Dismiss{}) }, cmd: group.Invite{UserIDs: []string{"z"}}, want: events.CodeFailedPrecondition},
		{name: "dismissed group id cannot be re-created", actor: "o", setup: func(b *builder) { b.do("o", group.Dismiss{}) }, cmd: group.Create{Name: "again"}, want: events.CodeAlreadyExists},
		// transfer
		{name: "owner transfers to a member", actor: "o", cmd: group.Transfer{NewOwner: "m1"}, types: []events.Type{events.GroupOwnershipTransferred}},
		{name: "admin may not transfer", actor: "adm", cmd: group.Transfer{NewOwner: "m1"}, want: events.CodeForbidden},
		{name: "transfer to an outsider", actor: "o", cmd: group.Transfer{NewOwner: "x"}, want: events.CodeNotFound},
		{name: "transfer to self", actor: "o", cmd: group.Transfer{NewOwner: "o"}, want: events.CodeInvalidArgument},
		// group mute
		{name: "admin mutes group", actor: "adm", cmd: group.MuteGroup{}, types: []events.Type{events.GroupMuted}},
		{name: "member may not mute group", actor: "m1", cmd: group.MuteGroup{}, want: events.CodeForbidden},
		{name: "mute a muted group", actor: "o", setup: func(b *builder) { b.do("o", group.MuteGroup{}) }, cmd: group.MuteGroup{}, want: events.CodeFailedPrecondition},
		{name: "unmute a group", actor: "adm", setup: func(b *builder) { b.do("o", group.MuteGroup{}) }, cmd: group.UnmuteGroup{}, types: []events.Type{events.GroupUnmuted}},
		{name: "unmute an unmuted group", actor: "o", cmd: group.UnmuteGroup{}, want: events.CodeFailedPrecondition},
		{name: "member may not unmute group", actor: "m1", setup: func(b *builder) { b.do("o", group.MuteGroup{}) }, cmd: group.UnmuteGroup{}, want: events.CodeForbidden},
		// invite
		{name: "owner invites several", actor: "o", cmd: group.Invite{UserIDs: []string{"a", "b"}}, types: []events.Type{events.MemberInvited, events.MemberInvited}},
		{name: "member invites under approval", actor: "m1", policy: events.PolicyApproval, cmd: group.Invite{UserIDs: []string{"a"}}, types: []events.Type{events.MemberInvited}},
		{name: "member may not invite under invite_only", actor: "m1", policy: events.PolicyInviteOnly, cmd: group.Invite{UserIDs: []string{"a"}}, want: events.CodeForbidden},
		{name: "admin invites under invite_only", actor: "adm", policy: events.PolicyInviteOnly, cmd: group.Invite{UserIDs: []string{"a"}}, types: []events.Type{events.MemberInvited}},
		{name: "outsider may not invite", actor: "x", cmd: group.Invite{UserIDs: []string{"a"}}, want: events.CodeForbidden},
		{name: "invite an existing member", actor: "o", cmd: group.Invite{UserIDs: []string{"a", "m1"}}, want: events.CodeAlreadyExists},
		{name: "invite nobody", actor: "o", cmd: group.Invite{}, want: events.CodeInvalidArgument},
		{name: "invite duplicates", actor: "o", cmd: group.Invite{UserIDs: []string{"a", "a"}}, want: events.CodeInvalidArgument},
		{name: "invite unsafe id", actor: "o", cmd: group.Invite{UserIDs: []string{"a>"}}, want: events.CodeInvalidArgument},
		{name: "invite too many", actor: "o", cmd: group.Invite{UserIDs: manyIDs(group.MaxBatchUsers + 1)}, want: events.CodeInvalidArgument},
		// join
		{name: "join open group", actor: "x", policy: events.PolicyOpen, cmd: group.Join{}, types: []events.Type{events.MemberJoined}},
		{name: "join approval group asks", actor: "x", policy: events.PolicyApproval, cmd: group.Join{Message: "hi"}, types: []events.Type{events.MemberJoinRequested}},
		{name: "join approval group twice", actor: "x", policy: events.PolicyApproval, setup: func(b *builder) { b.do("x", group.Join{}) }, cmd: group.Join{}, want: events.CodeAlreadyExists},
		{name: "join invite_only group", actor: "x", policy: events.PolicyInviteOnly, cmd: group.Join{}, want: events.CodeForbidden},
		{name: "join as member", actor: "m1", policy: events.PolicyOpen, cmd: group.Join{}, want: events.CodeAlreadyExists},
		// approve / reject
		{name: "admin approves", actor: "adm", policy: events.PolicyApproval, setup: func(b *builder) { b.do("x", group.Join{}) }, cmd: group.Approve{UserID: "x"}, types: []events.Type{events.MemberJoinApproved}},
		{name: "member may not approve", actor: "m1", policy: events.PolicyApproval, setup: func(b *builder) { b.do("x", group.Join{}) }, cmd: group.Approve{UserID: "x"}, want: events.CodeForbidden},
		{name: "approve without request", actor: "o", cmd: group.Approve{UserID: "x"}, want: events.CodeNotFound},
		{name: "owner rejects", actor: "o", policy: events.PolicyApproval, setup: func(b *builder) { b.do("x", group.Join{}) }, cmd: group.Reject{UserID: "x", Reason: "no"}, types: []events.Type{events.MemberJoinRejected}},
		{name: "reject without request", actor: "o", cmd: group.Reject{UserID: "x"}, want: events.CodeNotFound},
		{name: "member may not reject", actor: "m1", policy: events.PolicyApproval, setup: func(b *builder) { b.do("x", group.Join{}) }, cmd: group.Reject{UserID: "x"}, want: events.CodeForbidden},
		// remove
		{name: "owner removes admin and member", actor: "o", cmd: group.Remove{UserIDs: []string{"adm", "m1"}}, types: []events.Type{events.MemberRemoved, events.MemberRemoved}},
		{name: "admin removes member", actor: "adm", cmd: group.Remove{UserIDs: []string{"m1"}}, types: []events.Type{events.MemberRemoved}},
		{name: "admin may not remove admin", actor: "adm", cmd: group.Remove{UserIDs: []string{"adm2"}}, want: events.CodeForbidden},
		{name: "admin may not remove owner", actor: "adm", cmd: group.Remove{UserIDs: []string{"o"}}, want: events.CodeForbidden},
		{name: "member may not remove", actor: "m1", cmd: group.Remove{UserIDs: []string{"m2"}}, want: events.CodeForbidden},
		{name: "remove a non-member", actor: "o", cmd: group.Remove{UserIDs: []string{"x"}}, want: events.CodeNotFound},
		{name: "remove self", actor: "adm", cmd: group.Remove{UserIDs: []string{"adm"}}, want: events.CodeInvalidArgument},
		{name: "remove is all or nothing", actor: "adm", cmd: group.Remove{UserIDs: []string{"m1", "adm2"}}, want: events.CodeForbidden},
		// quit
		{name: "member quits", actor: "m1", cmd: group.Quit{}, types: []events.Type{events.MemberQuit}},
		{name: "owner may not quit", actor: "o", cmd: group.Quit{}, want: events.CodeFailedPrecondition},
		{name: "outsider quits", actor: "x", cmd: group.Quit{}, want: events.CodeNotFound},
		// set role
		{name: "owner makes an admin", actor: "o", cmd: group.SetRole{UserID: "m1", Role: events.RoleAdmin}, types: []events.Type{events.MemberRoleChanged}},
		{name: "owner demotes an admin", actor: "o", cmd: group.SetRole{UserID: "adm", Role: events.RoleMember}, types: []events.Type{events.MemberRoleChanged}},
		{name: "admin may not set roles", actor: "adm", cmd: group.SetRole{UserID: "m1", Role: events.RoleAdmin}, want: events.CodeForbidden},
		{name: "set role owner", actor: "o", cmd: group.SetRole{UserID: "m1", Role: events.RoleOwner}, want: events.CodeInvalidArgument},
		{name: "set unknown role", actor: "o", cmd: group.SetRole{UserID: "m1", Role: "king"}, want: events.CodeInvalidArgument},
		{name: "set same role", actor: "o", cmd: group.SetRole{UserID: "adm", Role: events.RoleAdmin}, want: events.CodeFailedPrecondition},
		{name: "set role of non-member", actor: "o", cmd: group.SetRole{UserID: "x", Role: events.RoleAdmin}, want: events.CodeNotFound},
		// member mute
		{name: "admin mutes member", actor: "adm", cmd: group.MuteMember{UserID: "m1", Duration: time.Hour}, types: []events.Type{events.MemberMuted}},
		{name: "admin may not mute admin", actor: "adm", cmd: group.MuteMember{UserID: "adm2", Duration: time.Hour}, want: events.CodeForbidden},
		{name: "member may not mute", actor: "m1", cmd: group.MuteMember{UserID: "m2", Duration: time.Hour}, want: events.CodeForbidden},
		{name: "mute for too long", actor: "o", cmd: group.MuteMember{UserID: "m1", Duration: 31 * 24 * time.Hour}, want: events.CodeInvalidArgument},
		{name: "mute a non-member", actor: "o", cmd: group.MuteMember{UserID: "x", Duration: time.Hour}, want: events.CodeNotFound},
		{name: "unmute a muted member", actor: "adm", setup: func(b *builder) { b.do("o", group.MuteMember{UserID: "m1", Duration: time.Hour}) }, cmd: group.UnmuteMember{UserID: "m1"}, types: []events.Type{events.MemberUnmuted}},
		{name: "unmute an unmuted member", actor: "o", cmd: group.UnmuteMember{UserID: "m1"}, want: events.CodeFailedPrecondition},
		{name: "member may not unmute", actor: "m2", setup: func(b *builder) { b.do("o", group.MuteMember{UserID: "m1", Duration: time.Hour}) }, cmd: group.UnmuteMember{UserID: "m1"}, want: events.CodeForbidden},
	}
	runDecideCases(t, tests)
}

// decideCase is one command decided on a group built by setup (default:
// newGroup's under tt.policy, default approval): rejected with want, or
// accepted with exactly types, leaving the state untouched and folding
// cleanly.
type decideCase struct {
	name   string
	policy events.JoinPolicy
	setup  func(b *builder)
	actor  string
	cmd    group.Command
	want   events.Code // "" means accepted
	types  []events.Type
}

func runDecideCases(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := tt.policy
			if policy == "" {
				policy = events.PolicyApproval
			}
			b := newGroup(t, policy)
			if tt.setup != nil {
				tt.setup(b)
			}
			before := b.s.Version
			changes, err := group.Decide(b.s, tt.actor, tt.cmd, t0)
			if tt.want != "" {
				if !errors.Is(err, &events.Error{Code: tt.want}) {
					t.Fatalf("want %s, have %v", tt.want, err)
				}
				if changes != nil {
					t.Fatalf("rejected command produced changes: %v", changes)
				}
				return
			}
			if err != nil {
				t.Fatalf("want accepted, have %v", err)
			}
			var have []events.Type
			for _, c := range changes {
				have = append(have, c.Type)
			}
			if fmt.Sprint(have) != fmt.Sprint(tt.types) {
				t.Fatalf("want events %v, have %v", tt.types, have)
			}
			if b.s.Version != before {
				t.Fatal("Decide mutated the state")
			}
			b.do(tt.actor, tt.cmd) // and the events fold cleanly
		})
	}
}

func TestFoldEffects(t *testing.T) {
	b := newGroup(t, events.PolicyApproval)
	b.do("o", group.Transfer{NewOwner: "adm"})
	if b.s.Owner != "adm" || b.s.Role("adm") != events.RoleOwner || b.s.Role("o") != events.RoleMember {
		t.Fatalf("transfer: owner %s, adm %s, o %s", b.s.Owner, b.s.Role("adm"), b.s.Role("o"))
	}
	b.do("x", group.Join{Message: "please"})
	if _, ok := b.s.Pending["x"]; !ok {
		t.Fatal("join request not pending")
	}
	b.do("adm", group.Invite{UserIDs: []string{"x"}})
	if _, ok := b.s.Pending["x"]; ok || b.s.Role("x") != events.RoleMember {
		t.Fatal("invite should admit x and clear the request")
	}
	b.do("adm", group.MuteMember{UserID: "x", Duration: 90 * time.Second})
	if want := t0.Add(90 * time.Second); !b.s.Members["x"].MutedUntil.Equal(want) {
		t.Fatalf("muted until: want %s, have %s", want, b.s.Members["x"].MutedUntil)
	}
	n := len(b.s.Members)
	b.do("m1", group.Quit{})
	if len(b.s.Members) != n-1 || b.s.Members["m1"] != nil {
		t.Fatal("quit did not remove m1")
	}
	b.do("adm", group.Dismiss{})
	if !b.s.Dismissed || len(b.s.Members) != 0 {
		t.Fatal("dismiss should release every member")
	}
}

func TestApplyRejectsGapsAndRepeats(t *testing.T) {
	b := newGroup(t, events.PolicyOpen)
	data, _ := json.Marshal(events.MemberJoinedData{UserID: "z"})
	for _, v := range []uint64{b.s.Version, b.s.Version + 2} {
		_, err := b.s.Apply(events.Event{ID: "x", Type: events.MemberJoined, SchemaVersion: 1, GroupID: "G", Version: v, Data: data})
		if err == nil {
			t.Fatalf("version %d after %d: want error", v, b.s.Version)
		}
	}
}

func TestDeltaNamesOnlyChangedMembers(t *testing.T) {
	b := newGroup(t, events.PolicyOpen)
	data, _ := json.Marshal(events.MemberInvitedData{UserID: "z", Inviter: "o"})
	d, err := b.s.Apply(events.Event{ID: "x", Type: events.MemberInvited, SchemaVersion: 1, GroupID: "G", Version: b.s.Version + 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Upserted) != 1 || d.Upserted[0] != "z" || len(d.Removed) != 0 || !d.Group {
		t.Fatalf("delta: %+v", d)
	}
}

func strp(s string) *string { return &s }

func manyIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%d", i)
	}
	return ids
}
