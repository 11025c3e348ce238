package delivery_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/openimtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ev(t *testing.T, id string, typ events.Type, actor string, data any) events.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{ID: id, Type: typ, SchemaVersion: events.SchemaVersions[typ], GroupID: "G1", Version: 7,
		OccurredAt: t0, CommandID: "cmd-" + id, Actor: actor, Data: raw}
}

func ptr[T any](v T) *T { return &v }

// build sends e (and its batch) through BuildOpenIM and holds the body
// against OpenIM's struct of its command.
func build(t *testing.T, e events.Event, batch ...events.Event) (delivery.Built, openimtest.Decoded) {
	t.Helper()
	b, err := delivery.BuildOpenIM("https://im.example.com/cb/", "msg_1", e, batch...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := openimtest.Decode(b.Body)
	if err != nil {
		t.Fatalf("%s: %v\n%s", e.Type, err, b.Body)
	}
	if b.URL != "https://im.example.com/cb/"+d.Command {
		t.Fatalf("URL %s for command %s", b.URL, d.Command)
	}
	if b.Headers.Get("operationID") != "msg_1" || b.Headers.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("headers %v", b.Headers)
	}
	if d.RosterEvent.ID != e.ID {
		t.Fatalf("rosterEvent is %s, want %s", d.RosterEvent.ID, e.ID)
	}
	return b, d
}

// TestOpenIMBodiesMatchOpenIM38: every after-callback body decodes into
// OpenIM 3.8.3's request struct of its command with no key missing and
// none unknown (rosterEvent aside), with OpenIM's value semantics.
func TestOpenIMBodiesMatchOpenIM38(t *testing.T) {
	t.Run("group.created", func(t *testing.T) {
		e := ev(t, "e1", events.GroupCreated, "creator", events.GroupCreatedData{
			Name: "Team", Intro: "hello", JoinPolicy: events.PolicyAllApproval, Owner: "own", Members: []string{"m1", "m2"},
			Admins: []string{"a1"}, Creator: "creator", FaceURL: "https://f/x.png", Ex: `{"k":1}`, Notification: "read me",
			LookMemberInfo: 1, ApplyMemberFriend: 1,
		})
		_, d := build(t, e)
		r := d.Req.(*openimtest.CallbackAfterCreateGroupReq)
		want := openimtest.GroupInfo{GroupID: "G1", GroupName: "Team", Notification: "read me", Introduction: "hello",
			FaceURL: "https://f/x.png", OwnerUserID: "own", CreateTime: t0.UnixMilli(), MemberCount: 4, Ex: `{"k":1}`,
			CreatorUserID: "creator", GroupType: 2, NeedVerification: 1, LookMemberInfo: 1, ApplyMemberFriend: 1,
			NotificationUpdateTime: t0.UnixMilli(), NotificationUserID: "creator"}
		if d.Command != "callbackAfterCreateGroupCommand" || r.GroupInfo != want {
			t.Fatalf("%s\nhave %+v\nwant %+v", d.Command, r.GroupInfo, want)
		}
		var members []string
		for _, m := range r.InitMemberList {
			members = append(members, fmt.Sprintf("%s:%d", m.UserID, m.RoleLevel))
		}
		// owner 100 first, then admins 60, then members 20.
		if have := strings.Join(members, " "); have != "own:100 a1:60 m1:20 m2:20" {
			t.Fatalf("initMemberList %s", have)
		}
	})
	t.Run("group.created without notification", func(t *testing.T) {
		_, d := build(t, ev(t, "e1", events.GroupCreated, "own", events.GroupCreatedData{Name: "T", JoinPolicy: events.PolicyOpen, Owner: "own"}))
		r := d.Req.(*openimtest.CallbackAfterCreateGroupReq)
		if r.NotificationUpdateTime != 0 || r.NotificationUserID != "" || r.MemberCount != 1 || r.CreatorUserID != "own" || r.NeedVerification != 2 {
			t.Fatalf("%+v", r.GroupInfo)
		}
		if string(d.Raw["notification"]) != `""` || string(d.Raw["ex"]) != `""` {
			t.Fatalf("unset strings must be \"\": notification %s ex %s", d.Raw["notification"], d.Raw["ex"])
		}
	})
	t.Run("group.updated", func(t *testing.T) {
		p := events.PolicyApproval
		_, d := build(t, ev(t, "e2", events.GroupUpdated, "own", events.GroupUpdatedData{Name: ptr("New"), JoinPolicy: &p, Ex: ptr("x")}))
		r := d.Req.(*openimtest.CallbackAfterSetGroupInfoReq)
		if d.Command != "callbackAfterSetGroupInfoCommand" || r.OperationID != "msg_1" || r.GroupID != "G1" || r.GroupName != "New" ||
			r.Introduction != "" || r.FaceURL != "" || r.Notification != "" || *r.Ex != "x" || *r.NeedVerification != 0 {
			t.Fatalf("%+v", r)
		}
		for _, k := range []string{"lookMemberInfo", "applyMemberFriend"} {
			if string(d.Raw[k]) != "null" {
				t.Fatalf("unchanged %s must be null, have %s", k, d.Raw[k])
			}
		}
	})
	t.Run("group.updated needVerification codes", func(t *testing.T) {
		for p, want := range map[events.JoinPolicy]int32{events.PolicyApproval: 0, events.PolicyAllApproval: 1, events.PolicyOpen: 2, events.PolicyInviteOnly: 1} {
			_, d := build(t, ev(t, "e2", events.GroupUpdated, "own", events.GroupUpdatedData{JoinPolicy: &p}))
			r := d.Req.(*openimtest.CallbackAfterSetGroupInfoReq)
			if *r.NeedVerification != want || string(d.Raw["ex"]) != "null" || string(d.Raw["groupName"]) != `""` {
				t.Fatalf("%s: needVerification %d want %d (ex %s)", p, *r.NeedVerification, want, d.Raw["ex"])
			}
		}
	})
	t.Run("group.dismissed", func(t *testing.T) {
		_, d := build(t, ev(t, "e3", events.GroupDismissed, "own", events.GroupDismissedData{Owner: "own", Members: []string{"own", "m1"}}))
		r := d.Req.(*openimtest.CallbackDisMissGroupReq)
		// OpenIM sends string(group.GroupType) of int32 2: the rune U+0002.
		if d.Command != "callbackAfterDisMissGroupCommand" || r.OwnerID != "own" || r.GroupType != "\u0002" || !slices.Equal(r.MembersID, []string{"own", "m1"}) {
			t.Fatalf("%+v", r)
		}
		if string(d.Raw["groupType"]) != `"\u0002"` {
			t.Fatalf("groupType on the wire: %s", d.Raw["groupType"])
		}
	})
	t.Run("group.dismissed version 1", func(t *testing.T) {
		e := ev(t, "e3", events.GroupDismissed, "own", struct{}{})
		e.SchemaVersion = 1
		_, d := build(t, e)
		r := d.Req.(*openimtest.CallbackDisMissGroupReq)
		if r.OwnerID != "own" || string(d.Raw["membersID"]) != "null" {
			t.Fatalf("owner %q membersID %s", r.OwnerID, d.Raw["membersID"])
		}
	})
	t.Run("group.ownership_transferred", func(t *testing.T) {
		_, d := build(t, ev(t, "e4", events.GroupOwnershipTransferred, "own", events.GroupOwnershipTransferredData{From: "own", To: "m1"}))
		r := d.Req.(*openimtest.CallbackTransferGroupOwnerReq)
		if d.Command != "callbackAfterTransferGroupOwnerCommand" || r.OldOwnerUserID != "own" || r.NewOwnerUserID != "m1" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("member.joined", func(t *testing.T) {
		_, d := build(t, ev(t, "e5", events.MemberJoined, "u9", events.MemberJoinedData{UserID: "u9", Source: events.JoinByQRCode, Message: "hi"}))
		r := d.Req.(*openimtest.CallbackAfterJoinGroupReq)
		if d.Command != "callbackAfterJoinGroupCommand" || r.OperationID != "msg_1" || r.ReqMessage != "hi" || r.JoinSource != 4 || r.InviterUserID != "" {
			t.Fatalf("%+v", r)
		}
		// OpenIM's body names nobody: who joined is in rosterEvent.
		if d.RosterEvent.Actor != "u9" {
			t.Fatalf("rosterEvent actor %q", d.RosterEvent.Actor)
		}
	})
	t.Run("member.joined version 1", func(t *testing.T) {
		e := ev(t, "e5", events.MemberJoined, "u9", map[string]string{"user_id": "u9"})
		e.SchemaVersion = 1
		_, d := build(t, e)
		if r := d.Req.(*openimtest.CallbackAfterJoinGroupReq); r.JoinSource != 3 {
			t.Fatalf("joinSource %d, want JoinBySearch 3", r.JoinSource)
		}
	})
	t.Run("member.removed batch", func(t *testing.T) {
		first := ev(t, "e6", events.MemberRemoved, "own", events.MemberRemovedData{UserID: "m1", By: "own", Reason: "spam"})
		rest := []events.Event{
			ev(t, "e7", events.MemberRemoved, "own", events.MemberRemovedData{UserID: "m2", By: "own", Reason: "spam"}),
			ev(t, "e8", events.MemberRemoved, "own", events.MemberRemovedData{UserID: "m3", By: "own", Reason: "spam"}),
		}
		_, d := build(t, first, rest...)
		r := d.Req.(*openimtest.CallbackKillGroupMemberReq)
		if d.Command != "callbackAfterKickGroupCommand" || !slices.Equal(r.KickedUserIDs, []string{"m1", "m2", "m3"}) || r.Reason != "spam" {
			t.Fatalf("%+v", r)
		}
		if _, err := delivery.BuildOpenIM("https://x", "m", first, ev(t, "e9", events.MemberQuit, "q", events.MemberQuitData{UserID: "q"})); err == nil {
			t.Fatal("a kick batch holding another type must not build")
		}
	})
	t.Run("member.quit", func(t *testing.T) {
		_, d := build(t, ev(t, "e9", events.MemberQuit, "q", events.MemberQuitData{UserID: "q"}))
		if r := d.Req.(*openimtest.CallbackQuitGroupReq); d.Command != "callbackAfterQuitGroupCommand" || r.UserID != "q" || r.GroupID != "G1" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("member.role_changed", func(t *testing.T) {
		_, d := build(t, ev(t, "e10", events.MemberRoleChanged, "own", events.MemberRoleChangedData{UserID: "m1", Role: events.RoleAdmin, Previous: events.RoleMember}))
		r := d.Req.(*openimtest.CallbackAfterSetGroupMemberInfoReq)
		if d.Command != "callbackAfterSetGroupMemberInfoCommand" || r.UserID != "m1" || *r.RoleLevel != 60 {
			t.Fatalf("%+v", r)
		}
		for _, k := range []string{"nickName", "faceURL", "ex"} {
			if string(d.Raw[k]) != "null" {
				t.Fatalf("unchanged %s must be null, have %s", k, d.Raw[k])
			}
		}
	})
	t.Run("member.info_changed", func(t *testing.T) {
		_, d := build(t, ev(t, "e11", events.MemberInfoChanged, "m1", events.MemberInfoChangedData{UserID: "m1", Nickname: ptr("Neo"), Ex: ptr("")}))
		r := d.Req.(*openimtest.CallbackAfterSetGroupMemberInfoReq)
		if d.Command != "callbackAfterSetGroupMemberInfoCommand" || *r.Nickname != "Neo" || *r.Ex != "" {
			t.Fatalf("%+v", r)
		}
		if string(d.Raw["nickName"]) != `"Neo"` || string(d.Raw["faceURL"]) != "null" || string(d.Raw["roleLevel"]) != "null" || string(d.Raw["ex"]) != `""` {
			t.Fatalf("nickName %s faceURL %s roleLevel %s ex %s", d.Raw["nickName"], d.Raw["faceURL"], d.Raw["roleLevel"], d.Raw["ex"])
		}
		role := events.RoleAdmin
		_, d = build(t, ev(t, "e12", events.MemberInfoChanged, "own", events.MemberInfoChangedData{UserID: "m1", Role: &role, Previous: events.RoleMember}))
		if r := d.Req.(*openimtest.CallbackAfterSetGroupMemberInfoReq); *r.RoleLevel != 60 || r.Nickname != nil {
			t.Fatalf("%+v", r)
		}
	})
}

// TestOpenIMExtensionBodies: the Roster extensions keep their documented
// keys, and OpenIM's approval is no afterJoinGroup.
func TestOpenIMExtensionBodies(t *testing.T) {
	until := t0.Add(time.Hour)
	for _, tt := range []struct {
		e    events.Event
		cmd  string
		want any
	}{
		{ev(t, "x1", events.GroupMuted, "own", events.GroupMutedData{}), "callbackAfterMuteGroupCommand",
			&openimtest.RosterGroupMuteReq{OperatorUserID: "own"}},
		{ev(t, "x2", events.GroupUnmuted, "own", events.GroupUnmutedData{}), "callbackAfterCancelMuteGroupCommand",
			&openimtest.RosterGroupMuteReq{OperatorUserID: "own"}},
		{ev(t, "x3", events.MemberInvited, "own", events.MemberInvitedData{UserID: "u", Inviter: "own", Reason: "welcome"}), "callbackAfterInviteUserToGroupCommand",
			&openimtest.RosterInviteReq{OperatorUserID: "own", InvitedUserIDs: []string{"u"}, InviterUserID: "own", Reason: "welcome"}},
		{ev(t, "x4", events.MemberJoinRequested, "m1", events.MemberJoinRequestedData{UserID: "u", Message: "pls", Inviter: "m1", Source: events.JoinByInvitation}), "callbackAfterApplyJoinGroupCommand",
			&openimtest.RosterApplyReq{OperatorUserID: "m1", UserID: "u", ReqMessage: "pls", InviterUserID: "m1", JoinSource: 2}},
		{ev(t, "x5", events.MemberJoinApproved, "adm", events.MemberJoinApprovedData{UserID: "u", Approver: "adm", Inviter: "m1", Source: events.JoinByInvitation}), "callbackAfterApproveJoinGroupCommand",
			&openimtest.RosterApproveReq{OperatorUserID: "adm", UserID: "u", InviterUserID: "m1", JoinSource: 2}},
		{ev(t, "x6", events.MemberJoinRejected, "adm", events.MemberJoinRejectedData{UserID: "u", Rejecter: "adm", Reason: "no"}), "callbackAfterRejectJoinGroupCommand",
			&openimtest.RosterRejectReq{OperatorUserID: "adm", UserID: "u", Reason: "no"}},
		{ev(t, "x7", events.MemberMuted, "adm", events.MemberMutedData{UserID: "u", Until: until}), "callbackAfterMuteGroupMemberCommand",
			&openimtest.RosterMemberMuteReq{OperatorUserID: "adm", UserID: "u", MuteEndTime: until.UnixMilli()}},
		{ev(t, "x8", events.MemberUnmuted, "adm", events.MemberUnmutedData{UserID: "u"}), "callbackAfterCancelMuteGroupMemberCommand",
			&openimtest.RosterMemberUnmuteReq{OperatorUserID: "adm", UserID: "u"}},
	} {
		t.Run(string(tt.e.Type), func(t *testing.T) {
			if delivery.OpenIMNative(tt.e.Type) {
				t.Fatalf("%s is not an OpenIM 3.8 after-callback", tt.e.Type)
			}
			_, d := build(t, tt.e)
			if _, native := openimtest.After[d.Command]; native || d.Command != tt.cmd {
				t.Fatalf("command %s, want the extension %s", d.Command, tt.cmd)
			}
			// The common keys are checked here, the operation's against want.
			have, _ := json.Marshal(d.Req)
			var m map[string]any
			_ = json.Unmarshal(have, &m)
			if m["operationID"] != "msg_1" || m["groupID"] != "G1" || m["callbackCommand"] != tt.cmd {
				t.Fatalf("common keys: %s", have)
			}
			delete(m, "operationID")
			delete(m, "groupID")
			delete(m, "callbackCommand")
			wantRaw, _ := json.Marshal(tt.want)
			var w map[string]any
			_ = json.Unmarshal(wantRaw, &w)
			delete(w, "operationID")
			delete(w, "groupID")
			delete(w, "callbackCommand")
			a, _ := json.Marshal(m)
			b, _ := json.Marshal(w)
			if string(a) != string(b) {
				t.Fatalf("body %s, want %s", a, b)
			}
		})
	}
}

// Every event type has a command, and the 3.8 ones are exactly OpenIM's.
func TestOpenIMCommandsCoverEveryType(t *testing.T) {
	native := map[string]bool{}
	for _, typ := range events.AllTypes {
		cmd, ok := delivery.OpenIMCommand(typ)
		if !ok {
			t.Fatalf("%s has no callbackCommand", typ)
		}
		_, in38 := openimtest.After[cmd]
		if in38 != delivery.OpenIMNative(typ) {
			t.Fatalf("%s: command %s, OpenIM 3.8 route %v, native %v", typ, cmd, in38, delivery.OpenIMNative(typ))
		}
		if in38 {
			native[cmd] = true
		}
	}
	// Of OpenIM's 9 group after-callbacks only afterSetGroupInfoEx has no
	// Roster operation (group.updated is afterSetGroupInfo).
	if len(native) != len(openimtest.After)-1 || native["callbackAfterSetGroupInfoExCommand"] {
		t.Fatalf("Roster sends %d of OpenIM's %d after-callbacks: %v", len(native), len(openimtest.After), native)
	}
}
