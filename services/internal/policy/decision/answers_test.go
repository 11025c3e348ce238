package decision_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/policy/decision"
	"github.com/rosterhq/roster/services/internal/policy/hook"
)

func openim(command, callback string, onFailure hook.OnFailure) hook.Hook {
	return hook.Hook{ID: "h1", Command: command, Callback: callback, URL: "http://x", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: onFailure}
}

func code(err error) events.Code {
	var e *events.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestOpenIMAnswersAreStrict: only exactly one JSON object of OpenIM's
// types is an answer; everything else is invalid_response, and on_failure
// decides: allow proceeds, deny is policy_unavailable in plain words.
func TestOpenIMAnswersAreStrict(t *testing.T) {
	in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Invite{UserIDs: []string{"u"}}, Group: owned()}
	for _, body := range []string{
		`{"actionCode":0}Callback ok`, `200 Content`, ``, `<html>ok</html>`, `{"actionCode":0}{"actionCode":0}`,
		`[{"actionCode":0}]`, `{"actionCode":"0"}`, `{"actionCode":0`,
	} {
		deny := openim("member.invite", "", hook.Deny)
		v := decision.Judge(deny, in, []byte(body))
		if v.Outcome != decision.Failed || v.Class != decision.ClassInvalidResponse {
			t.Errorf("%q: want failed invalid_response, have %+v", body, v)
			continue
		}
		err := v.Err(deny)
		if code(err) != events.CodePolicyUnavailable {
			t.Errorf("%q: deny: want policy_unavailable, have %v", body, err)
		}
		if msg := err.Error(); strings.Contains(msg, "invalid character") || strings.Contains(msg, "unexpected") || strings.Contains(msg, "cannot unmarshal") {
			t.Errorf("%q: the caller reads a parser's text: %s", body, msg)
		}
		if err := v.Err(openim("member.invite", "", hook.Allow)); err != nil {
			t.Errorf("%q: allow: want the command to proceed, have %v", body, err)
		}
	}
	for _, body := range []string{`{"actionCode":0}`, ` {"actionCode":0,"errCode":0,"errMsg":"","nextCode":0} ` + "\n", `{"actionCode":1,"errCode":5}`, `{"actionCode":0,"refusedMembersAccount":["x"]}`} {
		if v := decision.Judge(openim("member.invite", "", hook.Deny), in, []byte(body)); v.Outcome != decision.Allowed || !reflect.DeepEqual(v.Command, in.Command) {
			t.Errorf("%q: want allowed unchanged, have %+v", body, v)
		}
	}
}

// TestOpenIMVeto: actionCode 0 with nextCode 1 is a veto carrying the
// hook's errCode, errMsg and errDlt to the caller, whatever on_failure.
func TestOpenIMVeto(t *testing.T) {
	in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Remove{UserIDs: []string{"m1"}}, Group: owned()}
	h := openim("member.remove", "", hook.Allow)
	v := decision.Judge(h, in, []byte(`{"actionCode":0,"errCode":1403,"errMsg":"protected member","errDlt":"vip","nextCode":1}`))
	err := v.Err(h)
	var e *events.Error
	if v.Outcome != decision.Denied || !errors.As(err, &e) || e.Code != events.CodePolicyDenied {
		t.Fatalf("want policy_denied, have %+v %v", v, err)
	}
	want := map[string]any{"hook_id": "h1", "err_code": 1403, "err_msg": "protected member", "err_dlt": "vip"}
	if !reflect.DeepEqual(e.Details, want) || !strings.Contains(e.Message, "protected member") || v.Code != "1403" {
		t.Errorf("want details %v, have %v (%s)", want, e.Details, e.Message)
	}
}

// TestOverrides applies each override kind as OpenIM applies it, then
// checks the command the domain gets.
func TestOverrides(t *testing.T) {
	fresh := group.New("G")
	mute := time.UnixMilli(4102444800000).UTC()
	cases := []struct {
		name, command, callback, answer string
		cmd, want                       group.Command
		st                              *group.State
		refused                         string
	}{
		{name: "create fields", command: "group.create", answer: `{"actionCode":0,"groupName":"N2","introduction":"I2","faceURL":"f","ex":"x","notification":"n","needVerification":1,"lookMemberInfo":1,"applyMemberFriend":1,"groupID":"G","groupType":2,"status":null}`,
			cmd:  group.Create{Name: "N", JoinPolicy: events.PolicyOpen},
			want: group.Create{Name: "N2", Intro: "I2", FaceURL: "f", Ex: "x", Notification: "n", JoinPolicy: events.PolicyAllApproval, LookMemberInfo: 1, ApplyMemberFriend: 1}, st: fresh},
		{name: "create with the same needVerification keeps invite_only", command: "group.create", answer: `{"actionCode":0,"needVerification":1}`,
			cmd: group.Create{Name: "N", JoinPolicy: events.PolicyInviteOnly}, want: group.Create{Name: "N", JoinPolicy: events.PolicyInviteOnly}, st: fresh},
		{name: "create may not move the group", command: "group.create", answer: `{"actionCode":0,"groupID":"H"}`,
			cmd: group.Create{Name: "N"}, st: fresh, refused: "groupID"},
		{name: "create may not change the owner", command: "group.create", answer: `{"actionCode":0,"ownerUserID":"x"}`,
			cmd: group.Create{Name: "N"}, st: fresh, refused: "ownerUserID"},
		{name: "members join on create", command: "group.create", callback: hook.OpenIMBeforeMembersJoinGroup,
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"owner","nickname":"Boss"},{"userID":"m1","roleLevel":60,"muteEndTime":4102444800000,"faceURL":"u","ex":"e"},{"userID":"nobody","nickname":"x"},{"nickname":"no id"}]}`,
			cmd:    group.Create{Name: "N", Members: []string{"m1"}}, st: fresh,
			want: group.Create{Name: "N", Members: []string{"m1"}, Admissions: map[string]events.Admission{
				"owner": {Profile: events.Profile{Nickname: "Boss"}},
				"m1":    {Profile: events.Profile{FaceURL: "u", Ex: "e"}, Role: events.RoleAdmin, MutedUntil: &mute},
			}}},
		{name: "members join on invite", command: "member.invite", callback: hook.OpenIMBeforeMembersJoinGroup,
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"u1","nickname":"N","roleLevel":20}]}`,
			cmd:    group.Invite{UserIDs: []string{"u1", "u2"}}, st: owned(),
			want: group.Invite{UserIDs: []string{"u1", "u2"}, Admissions: map[string]events.Admission{"u1": {Profile: events.Profile{Nickname: "N"}, Role: events.RoleMember}}}},
		{name: "members join on join", command: "member.join", callback: hook.OpenIMBeforeMembersJoinGroup,
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"owner","ex":"from hook"}]}`,
			cmd:    group.Join{Ex: "mine"}, st: owned(),
			want: group.Join{Ex: "mine", Admission: &events.Admission{Profile: events.Profile{Ex: "from hook"}}}},
		{name: "members join on approve", command: "member.approve",
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"p","nickname":"P"}]}`,
			cmd:    group.Approve{UserID: "p"}, st: owned(),
			want: group.Approve{UserID: "p", Admission: &events.Admission{Profile: events.Profile{Nickname: "P"}}}},
		{name: "members join with no role", command: "member.invite", callback: hook.OpenIMBeforeMembersJoinGroup,
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"u1","roleLevel":42}]}`,
			cmd:    group.Invite{UserIDs: []string{"u1"}}, st: owned(), refused: "roleLevel 42"},
		{name: "set group info", command: "group.update",
			answer: `{"actionCode":0,"groupName":"","introduction":"hooked","ex":"x","needVerification":2,"lookMemberInfo":0}`,
			cmd:    group.Update{Name: ptr("N2")}, st: owned(),
			want: group.Update{Name: ptr("N2"), Intro: ptr("hooked"), Ex: ptr("x"), JoinPolicy: ptr(events.PolicyOpen), LookMemberInfo: ptr(int32(0))}},
		{name: "set member info", command: "member.set_info",
			answer: `{"actionCode":0,"nickName":"hooked","roleLevel":60,"faceURL":null}`,
			cmd:    group.SetInfo{UserID: "m1", FaceURL: ptr("f")}, st: owned(),
			want: group.SetInfo{UserID: "m1", FaceURL: ptr("f"), Nickname: ptr("hooked"), Role: ptr(events.RoleAdmin)}},
		{name: "set role takes only the role", command: "member.set_role",
			answer: `{"actionCode":0,"nickName":"ignored","roleLevel":20}`,
			cmd:    group.SetRole{UserID: "m1", Role: events.RoleAdmin}, st: owned(),
			want: group.SetRole{UserID: "m1", Role: events.RoleMember}},
		{name: "invite leaves the refused out", command: "member.invite", answer: `{"actionCode":0,"refusedMembersAccount":["u2","nobody"]}`,
			cmd:  group.Invite{UserIDs: []string{"u1", "u2"}, Admissions: map[string]events.Admission{"u2": {Role: events.RoleAdmin}}},
			want: group.Invite{UserIDs: []string{"u1"}, Admissions: map[string]events.Admission{}}, st: owned()},
		{name: "veto-only callbacks ignore the rest", command: "member.join",
			answer: `{"actionCode":0,"memberCallbackList":[{"userID":"owner","nickname":"x"}]}`,
			cmd:    group.Join{}, st: owned(), want: group.Join{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := openim(tc.command, tc.callback, hook.Deny)
			in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: tc.cmd, Group: tc.st}
			v := decision.Judge(h, in, []byte(tc.answer))
			err := v.Err(h)
			if tc.refused != "" {
				if code(err) != events.CodeInvalidArgument || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("want invalid_argument naming %s, have %v", tc.refused, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v.Command, tc.want) {
				t.Errorf("want %#v, have %#v", tc.want, v.Command)
			}
			wantOutcome := decision.Overridden
			if reflect.DeepEqual(tc.want, tc.cmd) {
				wantOutcome = decision.Allowed
			}
			if v.Outcome != wantOutcome || (wantOutcome == decision.Overridden) != (len(v.Override) > 0) {
				t.Errorf("want %s with the override kept, have %s %s", wantOutcome, v.Outcome, v.Override)
			}
		})
	}
}

// TestInviteAllRefusedIsAVeto: refusing every invited user denies.
func TestInviteAllRefusedIsAVeto(t *testing.T) {
	h := openim("member.invite", "", hook.Allow)
	in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Invite{UserIDs: []string{"u1"}}, Group: owned()}
	v := decision.Judge(h, in, []byte(`{"actionCode":0,"refusedMembersAccount":["u1"]}`))
	var e *events.Error
	if !errors.As(v.Err(h), &e) || e.Code != events.CodePolicyDenied || !reflect.DeepEqual(e.Details["refused_user_ids"], []string{"u1"}) {
		t.Errorf("want policy_denied naming the refused, have %v %v", v.Err(h), e)
	}
}

// TestOverridesDoNotTouchTheInput: an override copies what it changes.
func TestOverridesDoNotTouchTheInput(t *testing.T) {
	adm := map[string]events.Admission{"u1": {Profile: events.Profile{Nickname: "before"}}}
	cmd := group.Invite{UserIDs: []string{"u1"}, Admissions: adm}
	h := openim("member.invite", hook.OpenIMBeforeMembersJoinGroup, hook.Deny)
	v := decision.Judge(h, decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: cmd, Group: owned()},
		[]byte(`{"memberCallbackList":[{"userID":"u1","faceURL":"f"}]}`))
	if adm["u1"].FaceURL != "" || v.Command.(group.Invite).Admissions["u1"] != (events.Admission{Profile: events.Profile{Nickname: "before", FaceURL: "f"}}) {
		t.Errorf("input changed or merge lost: %v / %v", adm, v.Command)
	}
}

// TestStandardAnswers: {"allow":bool,"code","message","patch"} strictly.
func TestStandardAnswers(t *testing.T) {
	h := hook.Hook{ID: "s", Command: "member.invite", URL: "http://x", Format: hook.FormatStandard, Timeout: time.Second, OnFailure: hook.Deny}
	in := decision.Input{GroupID: "G", Actor: "owner", CommandID: "c", Command: group.Invite{UserIDs: []string{"u1"}}, Group: owned()}
	cases := []struct {
		answer  string
		outcome decision.Outcome
		want    group.Command
	}{
		{`{"allow":true}`, decision.Allowed, in.Command},
		{`{"allow":true,"patch":{}}`, decision.Allowed, in.Command},
		{`{"allow":true,"patch":{"reason":"policy","user_ids":["u1","u9"]}}`, decision.Overridden, group.Invite{UserIDs: []string{"u1", "u9"}, Reason: "policy"}},
		{`{"allow":false,"code":"quota","message":"no more invites"}`, decision.Denied, in.Command},
		{`{"allow":true}trailing`, decision.Failed, in.Command},
		{`{"code":"x"}`, decision.Failed, in.Command},
		{`{"allow":"yes"}`, decision.Failed, in.Command},
		{`{"allow":true,"extra":1}`, decision.Failed, in.Command},
		{`{"allow":true,"patch":{"name":"not an invite field"}}`, decision.Failed, in.Command},
		{`{"allow":true,"patch":[1]}`, decision.Failed, in.Command},
	}
	for _, tc := range cases {
		v := decision.Judge(h, in, []byte(tc.answer))
		if v.Outcome != tc.outcome || !reflect.DeepEqual(v.Command, tc.want) {
			t.Errorf("%s: want %s %#v, have %s %#v (%s)", tc.answer, tc.outcome, tc.want, v.Outcome, v.Command, v.Message)
		}
		if tc.outcome == decision.Failed && v.Class != decision.ClassInvalidResponse {
			t.Errorf("%s: want invalid_response, have %s", tc.answer, v.Class)
		}
		if tc.outcome == decision.Denied {
			var e *events.Error
			if !errors.As(v.Err(h), &e) || e.Code != events.CodePolicyDenied ||
				!reflect.DeepEqual(e.Details, map[string]any{"hook_id": "s", "code": "quota", "message": "no more invites"}) {
				t.Errorf("want policy_denied with the hook's code and message, have %v", v.Err(h))
			}
		}
	}
}

// TestSkippedAppliesOnFailure: an open breaker's skip is a failure.
func TestSkippedAppliesOnFailure(t *testing.T) {
	in := decision.Input{GroupID: "G", Command: group.Invite{}}
	v := decision.Skip(in)
	if err := v.Err(openim("member.invite", "", hook.Allow)); err != nil {
		t.Errorf("allow: %v", err)
	}
	err := v.Err(openim("member.invite", "", hook.Deny))
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.CodePolicyUnavailable || e.Details["failure_class"] != "breaker_open" {
		t.Errorf("deny: want policy_unavailable breaker_open, have %v", err)
	}
}
