package decision

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/openim"
	"github.com/rosterhq/roster/services/internal/policy/hook"
)

// The bodies of OpenIM 3.8's before-callbacks, declared from
// pkg/callbackstruct/group.go of openimsdk/open-im-server v3.8.3 (commit
// fe2c504f) and sdkws.GroupInfo of openimsdk/protocol v0.0.73-alpha.12.
// OpenIM encodes them with encoding/json and no omitempty: every key is
// always sent, an unset string as "", an unset pointer or slice as null;
// so do these (no omitempty anywhere). Field order is OpenIM's. What the
// after-callbacks send as well (GroupInfo, the member-info, kick and
// transfer keys, needVerification) is in package openim.

// beforeCreateGroupReq is CallbackBeforeCreateGroupReq: operationID,
// callbackCommand, the keys of the embedded *sdkws.GroupInfo flattened,
// initMemberList.
type beforeCreateGroupReq struct {
	OperationID     string `json:"operationID"`
	CallbackCommand string `json:"callbackCommand"`
	openim.GroupInfo
	InitMemberList []openim.GroupAddMemberInfo `json:"initMemberList"`
}

// beforeMembersJoinGroupReq is CallbackBeforeMembersJoinGroupReq.
type beforeMembersJoinGroupReq struct {
	CallbackCommand string                `json:"callbackCommand"`
	GroupID         string                `json:"groupID"`
	MemberList      []callbackGroupMember `json:"memberList"`
	GroupEx         string                `json:"groupEx"`
}

// callbackGroupMember is CallbackGroupMember.
type callbackGroupMember struct {
	UserID string `json:"userID"`
	Ex     string `json:"ex"`
}

// beforeInviteUserToGroupReq is CallbackBeforeInviteUserToGroupReq.
type beforeInviteUserToGroupReq struct {
	CallbackCommand string   `json:"callbackCommand"`
	OperationID     string   `json:"operationID"`
	GroupID         string   `json:"groupID"`
	Reason          string   `json:"reason"`
	InvitedUserIDs  []string `json:"invitedUserIDs"`
}

// joinGroupReq is CallbackJoinGroupReq (before apply). Its groupType is
// openim.GroupTypeString, the one character U+0002 (docs/adr/0091).
type joinGroupReq struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupID         string `json:"groupID"`
	GroupType       string `json:"groupType"`
	ApplyID         string `json:"applyID"`
	ReqMessage      string `json:"reqMessage"`
	Ex              string `json:"ex"`
}

// beforeSetGroupInfoReq is CallbackBeforeSetGroupInfoReq.
type beforeSetGroupInfoReq struct {
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

// RoleLevel is OpenIM's roleLevel of a role: owner 100, admin 60, member 20.
func RoleLevel(r events.Role) int32 {
	switch r {
	case events.RoleOwner:
		return 100
	case events.RoleAdmin:
		return 60
	}
	return 20
}

func roleOf(level int32) (events.Role, bool) {
	switch level {
	case 100:
		return events.RoleOwner, true
	case 60:
		return events.RoleAdmin, true
	case 20:
		return events.RoleMember, true
	}
	return "", false
}

// wrongCommand is the error of an openim callback built for a command it
// is not sent for (a hook the store should not have accepted).
func wrongCommand(cb string, cmd group.Command) error {
	return fmt.Errorf("%s is not sent for %s", cb, cmd.Kind())
}

// joining lists who a command admits, in order, with the ex each brings:
// OpenIM's beforeMembersJoinGroup memberList.
func joining(in Input) ([]callbackGroupMember, string, bool) {
	// groupEx is the group's ex (OpenIM's webhookBeforeMembersJoinGroup
	// passes group.Ex); a create's is the new group's.
	groupEx := ""
	if in.Group != nil {
		groupEx = in.Group.Ex
	}
	switch c := in.Command.(type) {
	case group.Create:
		ms := []callbackGroupMember{{UserID: in.Actor}}
		for _, u := range c.Admins {
			ms = append(ms, callbackGroupMember{UserID: u})
		}
		for _, u := range c.Members {
			ms = append(ms, callbackGroupMember{UserID: u})
		}
		return ms, c.Ex, true
	case group.Invite:
		ms := make([]callbackGroupMember, 0, len(c.UserIDs))
		for _, u := range c.UserIDs {
			ms = append(ms, callbackGroupMember{UserID: u})
		}
		return ms, groupEx, true
	case group.Join:
		return []callbackGroupMember{{UserID: in.Actor, Ex: c.Ex}}, groupEx, true
	case group.Approve:
		return []callbackGroupMember{{UserID: c.UserID}}, groupEx, true
	}
	return nil, "", false
}

func openIMBody(cb string, in Input, id string) ([]byte, error) {
	var v any
	switch cb {
	case hook.OpenIMBeforeCreateGroup:
		c, ok := in.Command.(group.Create)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		members := openim.InitMemberList(in.Actor, c.Admins, c.Members)
		v = beforeCreateGroupReq{OperationID: id, CallbackCommand: cb, InitMemberList: members, GroupInfo: openim.GroupInfo{
			GroupID: in.GroupID, GroupName: c.Name,
			Notification: c.Notification, Introduction: c.Intro, FaceURL: c.FaceURL, OwnerUserID: in.Actor,
			MemberCount: uint32(len(members)), Ex: c.Ex, CreatorUserID: in.Actor, GroupType: openim.GroupType,
			NeedVerification: openim.NeedVerification(c.JoinPolicy), LookMemberInfo: c.LookMemberInfo,
			ApplyMemberFriend: c.ApplyMemberFriend,
		}}
	case hook.OpenIMBeforeMembersJoinGroup:
		ms, ex, ok := joining(in)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		v = beforeMembersJoinGroupReq{CallbackCommand: cb, GroupID: in.GroupID, MemberList: ms, GroupEx: ex}
	case hook.OpenIMBeforeInviteJoinGroup:
		c, ok := in.Command.(group.Invite)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		v = beforeInviteUserToGroupReq{CallbackCommand: cb, OperationID: id, GroupID: in.GroupID, Reason: c.Reason, InvitedUserIDs: c.UserIDs}
	case hook.OpenIMBeforeJoinGroup:
		c, ok := in.Command.(group.Join)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		v = joinGroupReq{CallbackCommand: cb, GroupID: in.GroupID, GroupType: openim.GroupTypeString,
			ApplyID: in.Actor, ReqMessage: c.Message, Ex: c.Ex}
	case hook.OpenIMBeforeSetGroupInfo:
		c, ok := in.Command.(group.Update)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		r := beforeSetGroupInfoReq{CallbackCommand: cb, OperationID: id, GroupID: in.GroupID,
			GroupName: deref(c.Name), Notification: deref(c.Notification), Introduction: deref(c.Intro),
			FaceURL: deref(c.FaceURL), Ex: deref(c.Ex), LookMemberInfo: deref(c.LookMemberInfo),
			ApplyMemberFriend: deref(c.ApplyMemberFriend)}
		if c.JoinPolicy != nil {
			r.NeedVerification = openim.NeedVerification(*c.JoinPolicy)
		}
		v = r
	case hook.OpenIMBeforeSetGroupMemberInfo:
		r := openim.SetGroupMemberInfoReq{CallbackCommand: cb, GroupID: in.GroupID}
		switch c := in.Command.(type) {
		case group.SetInfo:
			r.UserID, r.Nickname, r.FaceURL, r.Ex = c.UserID, c.Nickname, c.FaceURL, c.Ex
			if c.Role != nil {
				l := RoleLevel(*c.Role)
				r.RoleLevel = &l
			}
		case group.SetRole:
			l := RoleLevel(c.Role)
			r.UserID, r.RoleLevel = c.UserID, &l
		default:
			return nil, wrongCommand(cb, in.Command)
		}
		v = r
	case hook.OpenIMBeforeKickGroupMember:
		c, ok := in.Command.(group.Remove)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		v = openim.KillGroupMemberReq{CallbackCommand: cb, GroupID: in.GroupID, KickedUserIDs: c.UserIDs, Reason: c.Reason}
	case hook.OpenIMBeforeTransferGroupOwner:
		c, ok := in.Command.(group.Transfer)
		if !ok {
			return nil, wrongCommand(cb, in.Command)
		}
		owner := ""
		if in.Group != nil {
			owner = in.Group.Owner
		}
		v = openim.TransferGroupOwnerReq{CallbackCommand: cb, GroupID: in.GroupID, OldOwnerUserID: owner, NewOwnerUserID: c.NewOwner}
	default:
		return nil, fmt.Errorf("unknown OpenIM callback %q", cb)
	}
	return json.Marshal(v)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// The answers: CommonCallbackResp (openim.Response) plus each callback's override fields
// (CallbackBeforeCreateGroupResp, CallbackBeforeMembersJoinGroupResp,
// CallbackBeforeSetGroupInfoResp, CallbackBeforeSetGroupMemberInfoResp).
// Keys OpenIM does not read are ignored, as OpenIM ignores them.
type beforeCreateGroupResp struct {
	GroupID           *string `json:"groupID"`
	GroupName         *string `json:"groupName"`
	Notification      *string `json:"notification"`
	Introduction      *string `json:"introduction"`
	FaceURL           *string `json:"faceURL"`
	OwnerUserID       *string `json:"ownerUserID"`
	Ex                *string `json:"ex"`
	Status            *int32  `json:"status"`
	CreatorUserID     *string `json:"creatorUserID"`
	GroupType         *int32  `json:"groupType"`
	NeedVerification  *int32  `json:"needVerification"`
	LookMemberInfo    *int32  `json:"lookMemberInfo"`
	ApplyMemberFriend *int32  `json:"applyMemberFriend"`
}

type memberJoinGroupCallBack struct {
	UserID      *string `json:"userID"`
	Nickname    *string `json:"nickname"`
	FaceURL     *string `json:"faceURL"`
	RoleLevel   *int32  `json:"roleLevel"`
	MuteEndTime *int64  `json:"muteEndTime"`
	Ex          *string `json:"ex"`
}

type beforeMembersJoinGroupResp struct {
	MemberCallbackList []*memberJoinGroupCallBack `json:"memberCallbackList"`
}

type beforeSetGroupInfoResp struct {
	GroupID           string  `json:"groupID"`
	GroupName         string  `json:"groupName"`
	Notification      string  `json:"notification"`
	Introduction      string  `json:"introduction"`
	FaceURL           string  `json:"faceURL"`
	Ex                *string `json:"ex"`
	NeedVerification  *int32  `json:"needVerification"`
	LookMemberInfo    *int32  `json:"lookMemberInfo"`
	ApplyMemberFriend *int32  `json:"applyMemberFriend"`
}

// beforeInviteUserToGroupResp is CallbackBeforeInviteUserToGroupResp.
type beforeInviteUserToGroupResp struct {
	RefusedMembersAccount []string `json:"refusedMembersAccount"`
}

type beforeSetGroupMemberInfoResp struct {
	Ex        *string `json:"ex"`
	Nickname  *string `json:"nickName"`
	FaceURL   *string `json:"faceURL"`
	RoleLevel *int32  `json:"roleLevel"`
}

func judgeOpenIM(h hook.Hook, in Input, answer []byte) Verdict {
	obj, err := oneObject(answer)
	if err != nil {
		return invalid(in, "%s", err)
	}
	var common openim.Response
	if err := json.Unmarshal(obj, &common); err != nil {
		return invalid(in, "not OpenIM's CommonCallbackResp: %v", err)
	}
	// CommonCallbackResp.Parse: a veto is actionCode 0 with nextCode 1
	// (servererrs.CallbackHandleFailed); any other answer lets the
	// operation go on, with its overrides.
	if common.ActionCode == 0 && common.NextCode == 1 {
		return Verdict{
			Outcome: Denied, Command: in.Command, Code: strconv.Itoa(common.ErrCode), Message: common.ErrMsg,
			Details: map[string]any{"hook_id": h.ID, "err_code": common.ErrCode, "err_msg": common.ErrMsg, "err_dlt": common.ErrDlt},
		}
	}
	switch h.OpenIMCommand() {
	case hook.OpenIMBeforeCreateGroup:
		var r beforeCreateGroupResp
		if err := json.Unmarshal(obj, &r); err != nil {
			return invalid(in, "not OpenIM's CallbackBeforeCreateGroupResp: %v", err)
		}
		return applyCreate(h, in, r)
	case hook.OpenIMBeforeMembersJoinGroup:
		var r beforeMembersJoinGroupResp
		if err := json.Unmarshal(obj, &r); err != nil {
			return invalid(in, "not OpenIM's CallbackBeforeMembersJoinGroupResp: %v", err)
		}
		return applyMembersJoin(h, in, r)
	case hook.OpenIMBeforeSetGroupInfo:
		var r beforeSetGroupInfoResp
		if err := json.Unmarshal(obj, &r); err != nil {
			return invalid(in, "not OpenIM's CallbackBeforeSetGroupInfoResp: %v", err)
		}
		return applySetGroupInfo(h, in, r)
	case hook.OpenIMBeforeSetGroupMemberInfo:
		var r beforeSetGroupMemberInfoResp
		if err := json.Unmarshal(obj, &r); err != nil {
			return invalid(in, "not OpenIM's CallbackBeforeSetGroupMemberInfoResp: %v", err)
		}
		return applySetMemberInfo(h, in, r)
	case hook.OpenIMBeforeInviteJoinGroup:
		var r beforeInviteUserToGroupResp
		if err := json.Unmarshal(obj, &r); err != nil {
			return invalid(in, "not OpenIM's CallbackBeforeInviteUserToGroupResp: %v", err)
		}
		return applyRefused(h, in, r)
	}
	// beforeJoinGroup and Roster's before-kick and before-transfer can only
	// veto (OpenIM 3.8 reads nothing else from them).
	return Verdict{Outcome: Allowed, Command: in.Command}
}

// applyRefused reads CallbackBeforeInviteUserToGroupResp's
// refusedMembersAccount, which OpenIM 3.8 declares and ignores: the refused
// users are left out of the invitation and the rest proceed; refusing
// every invited user is a veto.
func applyRefused(h hook.Hook, in Input, r beforeInviteUserToGroupResp) Verdict {
	c := in.Command.(group.Invite)
	refused := make(map[string]bool, len(r.RefusedMembersAccount))
	for _, u := range r.RefusedMembersAccount {
		refused[u] = true
	}
	var keep, left []string
	for _, u := range c.UserIDs {
		if refused[u] {
			left = append(left, u)
		} else {
			keep = append(keep, u)
		}
	}
	if len(left) == 0 {
		return Verdict{Outcome: Allowed, Command: in.Command}
	}
	if len(keep) == 0 {
		return Verdict{Outcome: Denied, Command: in.Command, Message: "every invited user was refused",
			Details: map[string]any{"hook_id": h.ID, "refused_user_ids": left}}
	}
	c.UserIDs = keep
	if c.Admissions != nil {
		c.Admissions = maps.Clone(c.Admissions)
		for _, u := range left {
			delete(c.Admissions, u)
		}
	}
	return overridden(in, c, map[string]any{"refusedMembersAccount": left})
}

// applyCreate applies CallbackBeforeCreateGroupResp as OpenIM's
// webhookBeforeCreateGroup does (each non-null field replaces the group's)
// plus applyMemberFriend, which OpenIM 3.8 forgets. Fields Roster cannot
// change (groupID, ownerUserID, creatorUserID, status, groupType) may only
// repeat what was sent.
func applyCreate(h hook.Hook, in Input, r beforeCreateGroupResp) Verdict {
	c := in.Command.(group.Create)
	applied := map[string]any{}
	fixed := []struct {
		key       string
		got, sent *string
	}{{"groupID", r.GroupID, &in.GroupID}, {"ownerUserID", r.OwnerUserID, &in.Actor}, {"creatorUserID", r.CreatorUserID, &in.Actor}}
	for _, f := range fixed {
		if f.got != nil && *f.got != *f.sent {
			return refuse(in, h, map[string]any{f.key: *f.got}, "%s %q differs from %q, which Roster cannot change", f.key, *f.got, *f.sent)
		}
	}
	if r.Status != nil && *r.Status != 0 {
		return refuse(in, h, map[string]any{"status": *r.Status}, "status %d: a group is created with status 0", *r.Status)
	}
	if r.GroupType != nil && *r.GroupType != openim.GroupType {
		return refuse(in, h, map[string]any{"groupType": *r.GroupType}, "groupType %d: Roster groups are type %d", *r.GroupType, openim.GroupType)
	}
	setStr := func(key string, dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst = *v
			applied[key] = *v
		}
	}
	setStr("groupName", &c.Name, r.GroupName)
	setStr("notification", &c.Notification, r.Notification)
	setStr("introduction", &c.Intro, r.Introduction)
	setStr("faceURL", &c.FaceURL, r.FaceURL)
	setStr("ex", &c.Ex, r.Ex)
	if r.NeedVerification != nil && *r.NeedVerification != openim.NeedVerification(c.JoinPolicy) {
		p, ok := openim.JoinPolicyOf(*r.NeedVerification)
		if !ok {
			return refuse(in, h, map[string]any{"needVerification": *r.NeedVerification}, "needVerification %d is not 0, 1 or 2", *r.NeedVerification)
		}
		c.JoinPolicy = p
		applied["needVerification"] = *r.NeedVerification
	}
	if r.LookMemberInfo != nil && *r.LookMemberInfo != c.LookMemberInfo {
		c.LookMemberInfo = *r.LookMemberInfo
		applied["lookMemberInfo"] = *r.LookMemberInfo
	}
	if r.ApplyMemberFriend != nil && *r.ApplyMemberFriend != c.ApplyMemberFriend {
		c.ApplyMemberFriend = *r.ApplyMemberFriend
		applied["applyMemberFriend"] = *r.ApplyMemberFriend
	}
	return overridden(in, c, applied)
}

// applyMembersJoin applies MemberJoinGroupCallBack per member as OpenIM's
// webhookBeforeMembersJoinGroup does: an entry for a user the call did not
// name is ignored; muteEndTime is unix milliseconds. The result is the
// command's admissions (events.Admission), merged over what an earlier
// hook set.
func applyMembersJoin(h hook.Hook, in Input, r beforeMembersJoinGroupResp) Verdict {
	ms, _, _ := joining(in)
	named := make(map[string]bool, len(ms))
	for _, m := range ms {
		named[m.UserID] = true
	}
	adm := map[string]events.Admission{}
	var applied []any
	for _, e := range r.MemberCallbackList {
		if e == nil || e.UserID == nil || !named[*e.UserID] {
			continue
		}
		a := currentAdmission(in.Command, *e.UserID)
		if v, ok := adm[*e.UserID]; ok {
			a = v
		}
		if e.Nickname != nil {
			a.Nickname = *e.Nickname
		}
		if e.FaceURL != nil {
			a.FaceURL = *e.FaceURL
		}
		if e.Ex != nil {
			a.Ex = *e.Ex
		}
		if e.RoleLevel != nil {
			role, ok := roleOf(*e.RoleLevel)
			if !ok {
				return refuse(in, h, e, "roleLevel %d for %q is not 20, 60 or 100", *e.RoleLevel, *e.UserID)
			}
			a.Role = role
		}
		if e.MuteEndTime != nil {
			t := time.UnixMilli(*e.MuteEndTime).UTC()
			a.MutedUntil = &t
		}
		adm[*e.UserID] = a
		applied = append(applied, e)
	}
	if len(adm) == 0 {
		return Verdict{Outcome: Allowed, Command: in.Command}
	}
	var cmd group.Command
	switch c := in.Command.(type) {
	case group.Create:
		c.Admissions = mergeAdmissions(c.Admissions, adm)
		cmd = c
	case group.Invite:
		c.Admissions = mergeAdmissions(c.Admissions, adm)
		cmd = c
	case group.Join:
		a := adm[in.Actor]
		c.Admission = &a
		cmd = c
	case group.Approve:
		a := adm[c.UserID]
		c.Admission = &a
		cmd = c
	}
	return overridden(in, cmd, applied)
}

func currentAdmission(cmd group.Command, user string) events.Admission {
	switch c := cmd.(type) {
	case group.Create:
		return c.Admissions[user]
	case group.Invite:
		return c.Admissions[user]
	case group.Join:
		if c.Admission != nil {
			return *c.Admission
		}
	case group.Approve:
		if c.Admission != nil {
			return *c.Admission
		}
	}
	return events.Admission{}
}

func mergeAdmissions(old, set map[string]events.Admission) map[string]events.Admission {
	out := maps.Clone(old)
	if out == nil {
		out = make(map[string]events.Admission, len(set))
	}
	maps.Copy(out, set)
	return out
}

// applySetGroupInfo applies CallbackBeforeSetGroupInfoResp. OpenIM 3.8
// copies its four plain strings over the request even when the answer
// lacks them, which turns an answer `{}` into "change nothing of those";
// Roster applies a string only when it is not empty (an empty string
// never set a field in OpenIM's SetGroupInfo either), and the pointers
// when not null. groupID may only repeat the group's.
func applySetGroupInfo(h hook.Hook, in Input, r beforeSetGroupInfoResp) Verdict {
	c := in.Command.(group.Update)
	if r.GroupID != "" && r.GroupID != in.GroupID {
		return refuse(in, h, map[string]any{"groupID": r.GroupID}, "groupID %q differs from %q, which Roster cannot change", r.GroupID, in.GroupID)
	}
	applied := map[string]any{}
	setStr := func(key string, dst **string, v string) {
		if v != "" && (*dst == nil || **dst != v) {
			*dst = &v
			applied[key] = v
		}
	}
	setStr("groupName", &c.Name, r.GroupName)
	setStr("notification", &c.Notification, r.Notification)
	setStr("introduction", &c.Intro, r.Introduction)
	setStr("faceURL", &c.FaceURL, r.FaceURL)
	if r.Ex != nil && (c.Ex == nil || *c.Ex != *r.Ex) {
		c.Ex = r.Ex
		applied["ex"] = *r.Ex
	}
	if r.NeedVerification != nil && (c.JoinPolicy == nil || openim.NeedVerification(*c.JoinPolicy) != *r.NeedVerification) {
		p, ok := openim.JoinPolicyOf(*r.NeedVerification)
		if !ok {
			return refuse(in, h, map[string]any{"needVerification": *r.NeedVerification}, "needVerification %d is not 0, 1 or 2", *r.NeedVerification)
		}
		c.JoinPolicy = &p
		applied["needVerification"] = *r.NeedVerification
	}
	if r.LookMemberInfo != nil && (c.LookMemberInfo == nil || *c.LookMemberInfo != *r.LookMemberInfo) {
		c.LookMemberInfo = r.LookMemberInfo
		applied["lookMemberInfo"] = *r.LookMemberInfo
	}
	if r.ApplyMemberFriend != nil && (c.ApplyMemberFriend == nil || *c.ApplyMemberFriend != *r.ApplyMemberFriend) {
		c.ApplyMemberFriend = r.ApplyMemberFriend
		applied["applyMemberFriend"] = *r.ApplyMemberFriend
	}
	return overridden(in, c, applied)
}

// applySetMemberInfo applies CallbackBeforeSetGroupMemberInfoResp: each
// non-null field replaces the request's. member.set_role carries only a
// role, so only roleLevel applies to it.
func applySetMemberInfo(h hook.Hook, in Input, r beforeSetGroupMemberInfoResp) Verdict {
	applied := map[string]any{}
	switch c := in.Command.(type) {
	case group.SetInfo:
		set := func(key string, dst **string, v *string) {
			if v != nil && (*dst == nil || **dst != *v) {
				*dst = v
				applied[key] = *v
			}
		}
		set("nickName", &c.Nickname, r.Nickname)
		set("faceURL", &c.FaceURL, r.FaceURL)
		set("ex", &c.Ex, r.Ex)
		if r.RoleLevel != nil {
			role, ok := roleOf(*r.RoleLevel)
			if !ok {
				return refuse(in, h, map[string]any{"roleLevel": *r.RoleLevel}, "roleLevel %d is not 20, 60 or 100", *r.RoleLevel)
			}
			if c.Role == nil || *c.Role != role {
				c.Role = &role
				applied["roleLevel"] = *r.RoleLevel
			}
		}
		return overridden(in, c, applied)
	case group.SetRole:
		if r.RoleLevel != nil {
			role, ok := roleOf(*r.RoleLevel)
			if !ok {
				return refuse(in, h, map[string]any{"roleLevel": *r.RoleLevel}, "roleLevel %d is not 20, 60 or 100", *r.RoleLevel)
			}
			if role != c.Role {
				c.Role = role
				applied["roleLevel"] = *r.RoleLevel
			}
		}
		return overridden(in, c, applied)
	}
	return Verdict{Outcome: Allowed, Command: in.Command}
}
