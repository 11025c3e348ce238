package decision_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/policy/decision"
	"github.com/rosterhq/roster/services/internal/policy/hook"
)

// OpenIM 3.8's before-callback request structs, declared here from their
// source (openimsdk/open-im-server v3.8.3 pkg/callbackstruct/group.go,
// commit fe2c504f; sdkws.GroupInfo of openimsdk/protocol v0.0.73-alpha.12;
// apistruct.GroupAddMemberInfo), independently of the package's own, so a
// body that drifts from OpenIM's fails here.
type (
	// OpenIM sdkws.GroupInfo, embedded (flattened) in
	// CallbackBeforeCreateGroupReq.
	openIMGroupInfo struct {
		GroupID                string `json:"groupID"`
		GroupName              string `json:"groupName"`
		Notification           string `json:"notification"`
		Introduction           string `json:"introduction"`
		FaceURL                string `json:"faceURL"`
		OwnerUserID            string `json:"ownerUserID"`
		CreateTime             int64  `json:"createTime"`
		MemberCount            uint32 `json:"memberCount"`
		Ex                     string `json:"ex"`
		Status                 int32  `json:"status"`
		CreatorUserID          string `json:"creatorUserID"`
		GroupType              int32  `json:"groupType"`
		NeedVerification       int32  `json:"needVerification"`
		LookMemberInfo         int32  `json:"lookMemberInfo"`
		ApplyMemberFriend      int32  `json:"applyMemberFriend"`
		NotificationUpdateTime int64  `json:"notificationUpdateTime"`
		NotificationUserID     string `json:"notificationUserID"`
	}
	// OpenIM apistruct.GroupAddMemberInfo.
	openIMGroupAddMemberInfo struct {
		UserID    string `json:"userID"`
		RoleLevel int32  `json:"roleLevel"`
	}
	// OpenIM callbackstruct.CallbackBeforeCreateGroupReq.
	openIMCallbackBeforeCreateGroupReq struct {
		OperationID     string `json:"operationID"`
		CallbackCommand string `json:"callbackCommand"`
		openIMGroupInfo
		InitMemberList []*openIMGroupAddMemberInfo `json:"initMemberList"`
	}
	// OpenIM callbackstruct.CallbackGroupMember.
	openIMCallbackGroupMember struct {
		UserID string `json:"userID"`
		Ex     string `json:"ex"`
	}
	// OpenIM callbackstruct.CallbackBeforeMembersJoinGroupReq.
	openIMCallbackBeforeMembersJoinGroupReq struct {
		CallbackCommand string                       `json:"callbackCommand"`
		GroupID         string                       `json:"groupID"`
		MembersList     []*openIMCallbackGroupMember `json:"memberList"`
		GroupEx         string                       `json:"groupEx"`
	}
	// OpenIM callbackstruct.CallbackBeforeInviteUserToGroupReq.
	openIMCallbackBeforeInviteUserToGroupReq struct {
		CallbackCommand string   `json:"callbackCommand"`
		OperationID     string   `json:"operationID"`
		GroupID         string   `json:"groupID"`
		Reason          string   `json:"reason"`
		InvitedUserIDs  []string `json:"invitedUserIDs"`
	}
	// OpenIM callbackstruct.CallbackJoinGroupReq.
	openIMCallbackJoinGroupReq struct {
		CallbackCommand string `json:"callbackCommand"`
		GroupID         string `json:"groupID"`
		GroupType       string `json:"groupType"`
		ApplyID         string `json:"applyID"`
		ReqMessage      string `json:"reqMessage"`
		Ex              string `json:"ex"`
	}
	// OpenIM callbackstruct.CallbackBeforeSetGroupInfoReq.
	openIMCallbackBeforeSetGroupInfoReq struct {
		CallbackCommand   string `json:"callbackCommand"`
		OperationID       string `json:"operationID"`
		GroupID           string `json:"groupID"`
		GroupName         string `json:"groupName"`
		Notification      string `json:"notification"`
		Introduction      string `json:"introduction"`
		FaceURL           string `json:"faceURL"`
		Ex                string `json:"ex"`
		NeedVerification  int32  `json:"needVerification"`
		LookMemberInfo    int32  `json:"lookMemberInfo"`
		ApplyMemberFriend int32  `json:"applyMemberFriend"`
	}
	// OpenIM callbackstruct.CallbackBeforeSetGroupMemberInfoReq.
	openIMCallbackBeforeSetGroupMemberInfoReq struct {
		CallbackCommand string  `json:"callbackCommand"`
		GroupID         string  `json:"groupID"`
		UserID          string  `json:"userID"`
		Nickname        *string `json:"nickName"`
		FaceURL         *string `json:"faceURL"`
		RoleLevel       *int32  `json:"roleLevel"`
		Ex              *string `json:"ex"`
	}
	// OpenIM callbackstruct.CallbackKillGroupMemberReq (the after-kick's
	// keys: Roster's before-kick follows them).
	openIMCallbackKillGroupMemberReq struct {
		CallbackCommand string   `json:"callbackCommand"`
		GroupID         string   `json:"groupID"`
		KickedUserIDs   []string `json:"kickedUserIDs"`
		Reason          string   `json:"reason"`
	}
	// OpenIM callbackstruct.CallbackTransferGroupOwnerReq (the
	// after-transfer's keys: Roster's before-transfer follows them).
	openIMCallbackTransferGroupOwnerReq struct {
		CallbackCommand string `json:"callbackCommand"`
		GroupID         string `json:"groupID"`
		OldOwnerUserID  string `json:"oldOwnerUserID"`
		NewOwnerUserID  string `json:"newOwnerUserID"`
	}
)

// jsonKeys lists the JSON keys of struct type t, embedded structs
// flattened as encoding/json flattens them.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" {
			keys = append(keys, jsonKeys(f.Type)...)
			continue
		}
		keys = append(keys, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	sort.Strings(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }

func owned() *group.State {
	s := group.New("G")
	s.Exists, s.Name, s.Owner, s.JoinPolicy, s.Version, s.Ex = true, "G", "owner", events.PolicyApproval, 3, "group-ex"
	s.Members["owner"] = &group.Member{Role: events.RoleOwner}
	s.Members["m1"] = &group.Member{Role: events.RoleMember}
	return s
}

// TestOpenIMBodies: every openim body Roster sends decodes into OpenIM's
// request struct of its callbackCommand with no unknown key and no key
// missing (OpenIM omits none), POSTed to {url}/{callbackCommand}.
func TestOpenIMBodies(t *testing.T) {
	role := events.RoleAdmin
	cases := []struct {
		command, callback string
		cmd               group.Command
		into              any
		check             func(t *testing.T, v any)
	}{
		{"group.create", hook.OpenIMBeforeCreateGroup, group.Create{Name: "N", Intro: "I", JoinPolicy: events.PolicyOpen, Admins: []string{"a1"}, Members: []string{"m1", "m2"}, Ex: "x"},
			&openIMCallbackBeforeCreateGroupReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackBeforeCreateGroupReq)
				if r.GroupName != "N" || r.Introduction != "I" || r.NeedVerification != 2 || r.GroupType != 2 || r.OwnerUserID != "owner" || r.Ex != "x" ||
					len(r.InitMemberList) != 4 || r.InitMemberList[0].RoleLevel != 100 || r.InitMemberList[1].RoleLevel != 60 || r.InitMemberList[3].RoleLevel != 20 {
					t.Errorf("values: %+v", r)
				}
			}},
		{"group.create", hook.OpenIMBeforeMembersJoinGroup, group.Create{Name: "N", Members: []string{"m1"}, Ex: "gx"},
			&openIMCallbackBeforeMembersJoinGroupReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackBeforeMembersJoinGroupReq)
				if len(r.MembersList) != 2 || r.MembersList[0].UserID != "owner" || r.GroupEx != "gx" {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.invite", hook.OpenIMBeforeInviteJoinGroup, group.Invite{UserIDs: []string{"u1", "u2"}, Reason: "welcome"},
			&openIMCallbackBeforeInviteUserToGroupReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackBeforeInviteUserToGroupReq)
				if r.Reason != "welcome" || len(r.InvitedUserIDs) != 2 || !strings.HasPrefix(r.OperationID, "pol_") {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.invite", hook.OpenIMBeforeMembersJoinGroup, group.Invite{UserIDs: []string{"u1"}},
			&openIMCallbackBeforeMembersJoinGroupReq{}, func(t *testing.T, v any) {
				// groupEx is the group's ex, as OpenIM passes group.Ex.
				if r := v.(*openIMCallbackBeforeMembersJoinGroupReq); r.GroupEx != "group-ex" || len(r.MembersList) != 1 || r.MembersList[0].UserID != "u1" {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.join", hook.OpenIMBeforeJoinGroup, group.Join{Message: "let me in", Ex: "e"},
			&openIMCallbackJoinGroupReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackJoinGroupReq)
				if r.GroupType != "\u0002" || r.ApplyID != "owner" || r.ReqMessage != "let me in" || r.Ex != "e" {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.join", hook.OpenIMBeforeMembersJoinGroup, group.Join{Ex: "e"}, &openIMCallbackBeforeMembersJoinGroupReq{}, nil},
		{"member.approve", hook.OpenIMBeforeMembersJoinGroup, group.Approve{UserID: "p"}, &openIMCallbackBeforeMembersJoinGroupReq{}, nil},
		{"group.update", hook.OpenIMBeforeSetGroupInfo, group.Update{Name: ptr("N2"), JoinPolicy: ptr(events.PolicyAllApproval)},
			&openIMCallbackBeforeSetGroupInfoReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackBeforeSetGroupInfoReq)
				if r.GroupName != "N2" || r.NeedVerification != 1 || r.Introduction != "" {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.set_info", hook.OpenIMBeforeSetGroupMemberInfo, group.SetInfo{UserID: "m1", Nickname: ptr("n"), Role: &role},
			&openIMCallbackBeforeSetGroupMemberInfoReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackBeforeSetGroupMemberInfoReq)
				if r.UserID != "m1" || r.Nickname == nil || *r.Nickname != "n" || r.RoleLevel == nil || *r.RoleLevel != 60 || r.FaceURL != nil {
					t.Errorf("values: %+v", r)
				}
			}},
		{"member.set_role", hook.OpenIMBeforeSetGroupMemberInfo, group.SetRole{UserID: "m1", Role: events.RoleAdmin},
			&openIMCallbackBeforeSetGroupMemberInfoReq{}, nil},
		{"member.remove", hook.OpenIMBeforeKickGroupMember, group.Remove{UserIDs: []string{"m1"}, Reason: "spam"},
			&openIMCallbackKillGroupMemberReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackKillGroupMemberReq)
				if len(r.KickedUserIDs) != 1 || r.Reason != "spam" {
					t.Errorf("values: %+v", r)
				}
			}},
		{"group.transfer", hook.OpenIMBeforeTransferGroupOwner, group.Transfer{NewOwner: "m1"},
			&openIMCallbackTransferGroupOwnerReq{}, func(t *testing.T, v any) {
				r := v.(*openIMCallbackTransferGroupOwnerReq)
				if r.OldOwnerUserID != "owner" || r.NewOwnerUserID != "m1" {
					t.Errorf("values: %+v", r)
				}
			}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.command+"/"+tc.callback, func(t *testing.T) {
			seen[tc.callback] = true
			h := hook.Hook{ID: "h", Command: tc.command, Callback: tc.callback, URL: "https://hooks.example/openim/", Format: hook.FormatOpenIM,
				Timeout: time.Second, OnFailure: hook.Deny}
			if err := h.Validate(); err != nil {
				t.Fatal(err)
			}
			st := owned()
			if tc.command == "group.create" {
				st = group.New("G")
			}
			req, err := decision.Build(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c1", Command: tc.cmd, Group: st})
			if err != nil {
				t.Fatal(err)
			}
			if want := "https://hooks.example/openim/" + tc.callback; req.URL != want {
				t.Errorf("want URL %s, have %s", want, req.URL)
			}
			dec := json.NewDecoder(bytes.NewReader(req.Body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("%s does not decode into OpenIM's struct: %v", req.Body, err)
			}
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(req.Body, &keys); err != nil {
				t.Fatal(err)
			}
			have := make([]string, 0, len(keys))
			for k := range keys {
				have = append(have, k)
			}
			sort.Strings(have)
			if want := jsonKeys(reflect.TypeOf(tc.into).Elem()); strings.Join(have, ",") != strings.Join(want, ",") {
				t.Errorf("keys: want %v, have %v", want, have)
			}
			var cb struct {
				CallbackCommand string `json:"callbackCommand"`
			}
			_ = json.Unmarshal(req.Body, &cb)
			if cb.CallbackCommand != tc.callback {
				t.Errorf("callbackCommand: want %s, have %s", tc.callback, cb.CallbackCommand)
			}
			if tc.check != nil {
				tc.check(t, tc.into)
			}
		})
	}
	for _, c := range hook.Commands {
		for _, cb := range hook.OpenIMCallbacks(c) {
			if !seen[cb] {
				t.Errorf("no body test for %s", cb)
			}
		}
	}
}

// TestOpenIMUnsetIsNull: an unset pointer is sent as null and an unset
// slice as null, never omitted (encoding/json, as OpenIM).
func TestOpenIMUnsetIsNull(t *testing.T) {
	h := hook.Hook{ID: "h", Command: "member.set_info", URL: "http://x", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny}
	req, err := decision.Build(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.SetInfo{UserID: "m1"}, Group: owned()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(req.Body), `"nickName":null`) || !strings.Contains(string(req.Body), `"ex":null`) {
		t.Errorf("want unset pointers as null, have %s", req.Body)
	}
	h = hook.Hook{ID: "h", Command: "member.invite", URL: "http://x", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny}
	req, _ = decision.Build(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Invite{}, Group: owned()})
	if !strings.Contains(string(req.Body), `"invitedUserIDs":null`) || !strings.Contains(string(req.Body), `"reason":""`) {
		t.Errorf("want an unset slice as null and an unset string as \"\", have %s", req.Body)
	}
}

// TestRequestIDIsStable: the same command id, hook and input give the
// same request id; another group state the body shows, another command
// id or another hook give another.
func TestRequestIDIsStable(t *testing.T) {
	h := hook.Hook{ID: "h", Command: "group.transfer", URL: "http://x", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny}
	in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Transfer{NewOwner: "m1"}, Group: owned()}
	a, _ := decision.Build(h, in)
	b, _ := decision.Build(h, in)
	if a.ID != b.ID || !bytes.Equal(a.Body, b.Body) {
		t.Fatalf("not stable: %s %s", a.ID, b.ID)
	}
	moved := owned()
	moved.Version = 9 // not in an openim transfer body: same id
	if c, _ := decision.Build(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: in.Command, Group: moved}); c.ID != a.ID {
		t.Errorf("a change the body does not show changed the id")
	}
	moved.Owner = "m9" // oldOwnerUserID: another id
	if c, _ := decision.Build(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: in.Command, Group: moved}); c.ID == a.ID {
		t.Errorf("a change the body shows kept the id")
	}
	in2 := in
	in2.CommandID = "d"
	if c, _ := decision.Build(h, in2); c.ID == a.ID {
		t.Errorf("another command id kept the id")
	}
	h2 := h
	h2.ID = "other"
	if c, _ := decision.Build(h2, in); c.ID == a.ID {
		t.Errorf("another hook kept the id")
	}
}

// TestStandardBody: a standard request is the policy.check envelope with
// the command's wire fields and the group's summary.
func TestStandardBody(t *testing.T) {
	h := hook.Hook{ID: "h", Command: "member.invite", URL: "https://p.example/check", Format: hook.FormatStandard, Timeout: time.Second, OnFailure: hook.Deny}
	req, err := decision.Build(h, decision.Input{GroupID: "G", Actor: "m1", CommandID: "c", Command: group.Invite{UserIDs: []string{"u"}, Reason: "r"}, Group: owned(), MemberCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type      string `json:"type"`
		Command   string `json:"command"`
		GroupID   string `json:"group_id"`
		Actor     string `json:"actor"`
		CommandID string `json:"command_id"`
		Input     struct {
			UserIDs    []string                    `json:"user_ids"`
			Reason     string                      `json:"reason"`
			Admissions map[string]events.Admission `json:"admissions"`
		} `json:"input"`
		Group decision.GroupSummary `json:"group"`
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("%s: %v", req.Body, err)
	}
	if req.URL != h.URL || body.Type != "policy.check" || body.Command != "member.invite" || body.Actor != "m1" || body.CommandID != "c" ||
		body.Input.Reason != "r" || body.Group.MemberCount != 2 || body.Group.ActorRole != events.RoleMember || body.Group.Version != 3 {
		t.Errorf("have %s", req.Body)
	}
}
