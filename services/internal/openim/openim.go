// Package openim is the OpenIM 3.8 wire vocabulary both of Roster's OpenIM
// sides send: the after-callbacks the webhook dispatcher delivers
// (webhook/delivery) and the before-callbacks the policy hooks call
// (policy/decision). Each type mirrors the OpenIM 3.8.3 struct named in
// its comment key for key (openimsdk/open-im-server
// pkg/callbackstruct/group.go, commit fe2c504f, and sdkws.GroupInfo of
// openimsdk/protocol v0.0.73-alpha.12), declared here, not imported:
// OpenIM's module is not a dependency. Like OpenIM's encoding/json, no
// key has omitempty: an unset string is "", an unset pointer or slice
// null. Field order is OpenIM's.
//
// The package is pure (standard library and events), so the webhook's
// delivery rules may import it. The tests keep their own declarations of
// OpenIM's structs (webhook/openimtest, policy/decision's tests): they are
// the oracle these must match, so they must not share them.
package openim

import "github.com/rosterhq/roster/events"

// OpenIM's constants the bodies carry (protocol/constant).
const (
	// GroupType is sdkws.GroupInfo.groupType: OpenIM 3.8 has only working
	// groups (constant.WorkingGroup).
	GroupType = 2
	// GroupStatusOK is constant.GroupOk.
	GroupStatusOK = 0
	// GroupTypeString is the string groupType of CallbackJoinGroupReq and
	// CallbackDisMissGroupReq: OpenIM fills it with string(group.GroupType)
	// of an int32, i.e. the one character U+0002, not "2"; Roster sends the
	// same (docs/adr/0091).
	GroupTypeString = string(rune(GroupType))
)

// GroupInfo is sdkws.GroupInfo: embedded (flattened) in
// CallbackBeforeCreateGroupReq and CallbackAfterCreateGroupReq.
type GroupInfo struct {
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

// GroupAddMemberInfo is apistruct.GroupAddMemberInfo, an entry of a
// create's initMemberList.
type GroupAddMemberInfo struct {
	UserID    string `json:"userID"`
	RoleLevel int32  `json:"roleLevel"`
}

// InitMemberList is a new group's initMemberList: the owner (level 100),
// then the admins (60), then the members (20), in order.
func InitMemberList(owner string, admins, members []string) []GroupAddMemberInfo {
	out := make([]GroupAddMemberInfo, 0, 1+len(admins)+len(members))
	out = append(out, GroupAddMemberInfo{UserID: owner, RoleLevel: int32(events.RoleOwner.Level())})
	for _, u := range admins {
		out = append(out, GroupAddMemberInfo{UserID: u, RoleLevel: int32(events.RoleAdmin.Level())})
	}
	for _, u := range members {
		out = append(out, GroupAddMemberInfo{UserID: u, RoleLevel: int32(events.RoleMember.Level())})
	}
	return out
}

// SetGroupMemberInfoReq has the keys of CallbackBeforeSetGroupMemberInfoReq
// and of CallbackAfterSetGroupMemberInfoReq, which OpenIM 3.8 declares
// alike ("nickName" with OpenIM's capital N).
type SetGroupMemberInfoReq struct {
	CallbackCommand string  `json:"callbackCommand"`
	GroupID         string  `json:"groupID"`
	UserID          string  `json:"userID"`
	Nickname        *string `json:"nickName"`
	FaceURL         *string `json:"faceURL"`
	RoleLevel       *int32  `json:"roleLevel"`
	Ex              *string `json:"ex"`
}

// KillGroupMemberReq is CallbackKillGroupMemberReq, OpenIM's after-kick;
// Roster's before-kick (OpenIM 3.8 has none) sends the same keys.
type KillGroupMemberReq struct {
	CallbackCommand string   `json:"callbackCommand"`
	GroupID         string   `json:"groupID"`
	KickedUserIDs   []string `json:"kickedUserIDs"`
	Reason          string   `json:"reason"`
}

// TransferGroupOwnerReq is CallbackTransferGroupOwnerReq, OpenIM's
// after-transfer; Roster's before-transfer sends the same keys.
type TransferGroupOwnerReq struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupID         string `json:"groupID"`
	OldOwnerUserID  string `json:"oldOwnerUserID"`
	NewOwnerUserID  string `json:"newOwnerUserID"`
}

// NeedVerification is OpenIM's needVerification of a join policy
// (constant ApplyNeedVerificationInviteDirectly 0: applications need
// approval, invitations are direct; AllNeedVerification 1: everything
// needs approval; Directly 2: anyone joins directly). invite_only, which
// OpenIM lacks, is sent as 1: nobody joins without the owner or an admin.
// An empty policy is a create's default, approval: 0.
func NeedVerification(p events.JoinPolicy) int32 {
	switch p {
	case events.PolicyAllApproval, events.PolicyInviteOnly:
		return 1
	case events.PolicyOpen:
		return 2
	}
	return 0
}

// JoinPolicyOf is the join policy a needVerification means (false: not
// 0, 1 or 2).
func JoinPolicyOf(v int32) (events.JoinPolicy, bool) {
	switch v {
	case 0:
		return events.PolicyApproval, true
	case 1:
		return events.PolicyAllApproval, true
	case 2:
		return events.PolicyOpen, true
	}
	return "", false
}

// Response is CommonCallbackResp, the answer every OpenIM callback
// receiver gives (a before-callback's answer adds its override fields).
type Response struct {
	ActionCode int    `json:"actionCode"`
	ErrCode    int    `json:"errCode"`
	ErrMsg     string `json:"errMsg"`
	ErrDlt     string `json:"errDlt"`
	NextCode   int    `json:"nextCode"`
}
