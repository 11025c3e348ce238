package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/openim"
)

// OpenIM 3.8's group after-callbacks, by the Roster event type whose
// operation fires them (openimsdk/open-im-server v3.8.3,
// pkg/callbackstruct/constant.go and internal/rpc/group/callback.go). An
// openim endpoint receives these for "*" and namespace wildcards: a 3.8
// receiver has a route for each.
var openIMAfter = map[events.Type]string{
	events.GroupCreated:              "callbackAfterCreateGroupCommand",
	events.GroupUpdated:              "callbackAfterSetGroupInfoCommand",
	events.GroupDismissed:            "callbackAfterDisMissGroupCommand",
	events.GroupOwnershipTransferred: "callbackAfterTransferGroupOwnerCommand",
	events.MemberJoined:              "callbackAfterJoinGroupCommand",
	events.MemberRemoved:             "callbackAfterKickGroupCommand",
	events.MemberQuit:                "callbackAfterQuitGroupCommand",
	events.MemberRoleChanged:         "callbackAfterSetGroupMemberInfoCommand",
	events.MemberInfoChanged:         "callbackAfterSetGroupMemberInfoCommand",
}

// Roster's extensions: operations OpenIM 3.8 sends no after-callback for
// (invite, apply, approve, reject, mutes). Their names follow OpenIM's
// pattern; a 3.8 receiver has no route for them and answers 404, so an
// openim endpoint gets them only when its event_types names the type
// exactly (endpoint.Wants).
var openIMExtensions = map[events.Type]string{
	events.GroupMuted:          "callbackAfterMuteGroupCommand",
	events.GroupUnmuted:        "callbackAfterCancelMuteGroupCommand",
	events.MemberInvited:       "callbackAfterInviteUserToGroupCommand",
	events.MemberJoinRequested: "callbackAfterApplyJoinGroupCommand",
	events.MemberJoinApproved:  "callbackAfterApproveJoinGroupCommand",
	events.MemberJoinRejected:  "callbackAfterRejectJoinGroupCommand",
	events.MemberMuted:         "callbackAfterMuteGroupMemberCommand",
	events.MemberUnmuted:       "callbackAfterCancelMuteGroupMemberCommand",
}

// OpenIMTestCommand is the callbackCommand of a "roster webhook test".
const OpenIMTestCommand = "callbackRosterTestCommand"

// OpenIMCommand returns the callbackCommand for an event type: OpenIM's
// after-callback or Roster's extension.
func OpenIMCommand(t events.Type) (string, bool) {
	if c, ok := openIMAfter[t]; ok {
		return c, true
	}
	c, ok := openIMExtensions[t]
	return c, ok
}

// OpenIMNative reports whether OpenIM 3.8 has an after-callback for t's
// operation (false: a Roster extension, sent only when named).
func OpenIMNative(t events.Type) bool {
	_, ok := openIMAfter[t]
	return ok
}

// OpenIMBatched reports whether the openim format sends all of one
// commit's events of type t in one request: OpenIM calls afterKickGroup
// once per kick with every kickedUserID, and a Roster remove command of
// several users is one commit of one member.removed event per user.
func OpenIMBatched(t events.Type) bool { return t == events.MemberRemoved }

// openIMJoinBySearch is OpenIM's joinSource of a direct join by id.
const openIMJoinBySearch = int32(events.JoinBySearch)

// The request bodies. Each mirrors the OpenIM 3.8.3 struct named in its
// comment key for key, without omitempty, as OpenIM's encoding/json does:
// an unset string is "", an unset pointer or slice null. (Declared here,
// not imported: OpenIM's module is not a dependency; the vocabulary the
// before-callbacks send as well is in package openim.)

// openIMAfterCreateGroup is callbackstruct.CallbackAfterCreateGroupReq:
// callbackCommand, the embedded sdkws.GroupInfo's keys, initMemberList.
type openIMAfterCreateGroup struct {
	CallbackCommand string `json:"callbackCommand"`
	openim.GroupInfo
	InitMemberList []openim.GroupAddMemberInfo `json:"initMemberList"`
}

// openIMAfterSetGroupInfo is callbackstruct.CallbackAfterSetGroupInfoReq.
type openIMAfterSetGroupInfo struct {
	CallbackCommand   string  `json:"callbackCommand"`
	OperationID       string  `json:"operationID"`
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

// openIMQuitGroup is callbackstruct.CallbackQuitGroupReq.
type openIMQuitGroup struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupID         string `json:"groupID"`
	UserID          string `json:"userID"`
}

// openIMDisMissGroup is callbackstruct.CallbackDisMissGroupReq.
type openIMDisMissGroup struct {
	CallbackCommand string   `json:"callbackCommand"`
	GroupID         string   `json:"groupID"`
	OwnerID         string   `json:"ownerID"`
	GroupType       string   `json:"groupType"`
	MembersID       []string `json:"membersID"`
}

// openIMAfterJoinGroup is callbackstruct.CallbackAfterJoinGroupReq (it
// names no joining user: rosterEvent does).
type openIMAfterJoinGroup struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	ReqMessage      string `json:"reqMessage"`
	JoinSource      int32  `json:"joinSource"`
	InviterUserID   string `json:"inviterUserID"`
}

// openIMExtension is the body of Roster's extension callbacks (no OpenIM
// struct): OpenIM's common keys, the operator, and the operation's fields
// under OpenIM's names; the keys an operation does not have are left out.
type openIMExtension struct {
	CallbackCommand string   `json:"callbackCommand"`
	OperationID     string   `json:"operationID"`
	GroupID         string   `json:"groupID"`
	OperatorUserID  string   `json:"operatorUserID"`
	UserID          string   `json:"userID,omitempty"`
	InvitedUserIDs  []string `json:"invitedUserIDs,omitempty"`
	InviterUserID   *string  `json:"inviterUserID,omitempty"`
	ReqMessage      *string  `json:"reqMessage,omitempty"`
	JoinSource      *int32   `json:"joinSource,omitempty"`
	Reason          *string  `json:"reason,omitempty"`
	MuteEndTime     *int64   `json:"muteEndTime,omitempty"`
}

// openIMTest is the body of an endpoint test (a synthetic event).
type openIMTest struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
}

// BuildOpenIM builds the after-callback for e: POST {url}/{command} with
// the body of OpenIM 3.8's request struct for that command and OpenIM's
// headers (operationID, Content-Type). batch holds the commit's further
// events delivered in the same request (OpenIMBatched: the other
// member.removed events of a remove command). operationID is the stable
// message id, in the header always and in the body where OpenIM's struct
// has the key, so a receiver can deduplicate on it. The whole Roster event
// (the batch's first) rides along as "rosterEvent", the one key OpenIM
// does not send: its receivers ignore unknown keys, and it carries what
// OpenIM leaves out (who joined, who acted).
func BuildOpenIM(baseURL, operationID string, e events.Event, batch ...events.Event) (Built, error) {
	cmd, ok := OpenIMCommand(e.Type)
	var body any
	if !ok {
		cmd = OpenIMTestCommand
		body = openIMTest{CallbackCommand: cmd, OperationID: operationID, GroupID: e.GroupID}
	} else {
		b, err := openIMBody(cmd, operationID, e, batch)
		if err != nil {
			return Built{}, err
		}
		body = b
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Built{}, err
	}
	ev, err := json.Marshal(e)
	if err != nil {
		return Built{}, err
	}
	// Every body is a non-empty object: rosterEvent goes in as its last
	// key.
	out := make([]byte, 0, len(b)+len(ev)+16)
	out = append(append(append(out, b[:len(b)-1]...), `,"rosterEvent":`...), ev...)
	out = append(out, '}')
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("operationID", operationID)
	return Built{URL: strings.TrimRight(baseURL, "/") + "/" + cmd, Body: out, Headers: h}, nil
}

// openIMBody is the OpenIM request of cmd for e (and its batch).
func openIMBody(cmd, opID string, e events.Event, batch []events.Event) (any, error) {
	_, data, err := events.Decode(e)
	if err != nil {
		return nil, err
	}
	g := e.GroupID
	switch d := data.(type) {
	case *events.GroupCreatedData:
		return afterCreateGroup(cmd, e, d), nil
	case *events.GroupUpdatedData:
		b := openIMAfterSetGroupInfo{CallbackCommand: cmd, OperationID: opID, GroupID: g, Ex: d.Ex,
			LookMemberInfo: d.LookMemberInfo, ApplyMemberFriend: d.ApplyMemberFriend}
		b.GroupName, b.Introduction = deref(d.Name), deref(d.Intro)
		b.Notification, b.FaceURL = deref(d.Notification), deref(d.FaceURL)
		if d.JoinPolicy != nil {
			v := openim.NeedVerification(*d.JoinPolicy)
			b.NeedVerification = &v
		}
		return b, nil
	case *events.GroupDismissedData:
		owner := d.Owner
		if owner == "" {
			owner = e.Actor // version 1 named no owner; only the owner dismisses
		}
		return openIMDisMissGroup{CallbackCommand: cmd, GroupID: g, OwnerID: owner, GroupType: openim.GroupTypeString, MembersID: d.Members}, nil
	case *events.GroupOwnershipTransferredData:
		return openim.TransferGroupOwnerReq{CallbackCommand: cmd, GroupID: g, OldOwnerUserID: d.From, NewOwnerUserID: d.To}, nil
	case *events.MemberJoinedData:
		src := int32(d.Source)
		if src == 0 {
			src = openIMJoinBySearch // version 1: a direct join by id
		}
		// OpenIM's inviterUserID is the join request's, empty on a direct
		// join; Roster's member.joined has no inviter.
		return openIMAfterJoinGroup{CallbackCommand: cmd, OperationID: opID, GroupID: g, ReqMessage: d.Message, JoinSource: src}, nil
	case *events.MemberRemovedData:
		kicked := []string{d.UserID}
		for _, o := range batch {
			_, od, err := events.Decode(o)
			if err != nil {
				return nil, err
			}
			r, ok := od.(*events.MemberRemovedData)
			if !ok {
				return nil, fmt.Errorf("kick batch of %s holds %s %s", e.ID, o.Type, o.ID)
			}
			kicked = append(kicked, r.UserID)
		}
		return openim.KillGroupMemberReq{CallbackCommand: cmd, GroupID: g, KickedUserIDs: kicked, Reason: d.Reason}, nil
	case *events.MemberQuitData:
		return openIMQuitGroup{CallbackCommand: cmd, GroupID: g, UserID: d.UserID}, nil
	case *events.MemberRoleChangedData:
		lvl := int32(d.Role.Level())
		return openim.SetGroupMemberInfoReq{CallbackCommand: cmd, GroupID: g, UserID: d.UserID, RoleLevel: &lvl}, nil
	case *events.MemberInfoChangedData:
		b := openim.SetGroupMemberInfoReq{CallbackCommand: cmd, GroupID: g, UserID: d.UserID, Nickname: d.Nickname, FaceURL: d.FaceURL, Ex: d.Ex}
		if d.Role != nil {
			lvl := int32(d.Role.Level())
			b.RoleLevel = &lvl
		}
		return b, nil
	}
	return extensionBody(cmd, opID, e, data), nil
}

// afterCreateGroup fills GroupInfo with the group's real values where
// OpenIM's request only echoes the create request: memberCount is the
// first members' count and createTime the event's time.
func afterCreateGroup(cmd string, e events.Event, d *events.GroupCreatedData) openIMAfterCreateGroup {
	members := openim.InitMemberList(d.Owner, d.Admins, d.Members)
	creator := d.Creator
	if creator == "" {
		creator = e.Actor
	}
	b := openIMAfterCreateGroup{CallbackCommand: cmd, InitMemberList: members, GroupInfo: openim.GroupInfo{
		GroupID: e.GroupID, GroupName: d.Name, Notification: d.Notification,
		Introduction: d.Intro, FaceURL: d.FaceURL, OwnerUserID: d.Owner, CreateTime: e.OccurredAt.UnixMilli(),
		MemberCount: uint32(len(members)), Ex: d.Ex, Status: openim.GroupStatusOK, CreatorUserID: creator,
		GroupType: openim.GroupType, NeedVerification: openim.NeedVerification(d.JoinPolicy),
		LookMemberInfo: d.LookMemberInfo, ApplyMemberFriend: d.ApplyMemberFriend,
	}}
	if d.Notification != "" {
		// A notification set at creation was set by the creator, then.
		b.NotificationUpdateTime, b.NotificationUserID = e.OccurredAt.UnixMilli(), creator
	}
	return b
}

// extensionBody is the body of a Roster extension callback.
func extensionBody(cmd, opID string, e events.Event, data any) openIMExtension {
	b := openIMExtension{CallbackCommand: cmd, OperationID: opID, GroupID: e.GroupID, OperatorUserID: e.Actor}
	switch d := data.(type) {
	case *events.MemberInvitedData:
		b.InvitedUserIDs, b.InviterUserID, b.Reason = []string{d.UserID}, &d.Inviter, &d.Reason
	case *events.MemberJoinRequestedData:
		src := int32(d.Source)
		b.UserID, b.ReqMessage, b.InviterUserID, b.JoinSource = d.UserID, &d.Message, &d.Inviter, &src
	case *events.MemberJoinApprovedData:
		// The approver is the operator; inviterUserID is the request's.
		src := int32(d.Source)
		b.UserID, b.InviterUserID, b.JoinSource = d.UserID, &d.Inviter, &src
	case *events.MemberJoinRejectedData:
		b.UserID, b.Reason = d.UserID, &d.Reason
	case *events.MemberMutedData:
		ms := d.Until.UnixMilli()
		b.UserID, b.MuteEndTime = d.UserID, &ms
	case *events.MemberUnmutedData:
		b.UserID = d.UserID
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ErrNotOneObject means a body is not exactly one JSON object.
var ErrNotOneObject = errors.New("response body is not exactly one JSON object")

// ErrNotOneValue means a body is neither empty nor exactly one JSON value.
var ErrNotOneValue = errors.New("response body is not exactly one JSON value")

// ParseOpenIMResponse parses body strictly: exactly one JSON object (only
// whitespace around it) with OpenIM's field types. Anything else, e.g.
// `{"actionCode":0}Callback ok`, `200 Content`, HTML or an empty body, is
// an error wrapping ErrNotOneObject. (The synchronous before-callbacks
// need this; after-callbacks are judged by JudgeOpenIM.)
func ParseOpenIMResponse(body []byte) (openim.Response, error) {
	var r openim.Response
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return r, fmt.Errorf("%w: %s", ErrNotOneObject, describe(trimmed))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrNotOneObject, err)
	}
	if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
		return r, fmt.Errorf("%w: %d bytes after the object (%s)", ErrNotOneObject, len(rest), describe(rest))
	}
	return r, nil
}

// oneValue checks that body is exactly one JSON value with only
// whitespace around it.
func oneValue(body []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotOneValue, err)
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value (%s)", ErrNotOneValue, len(rest), describe(rest))
	}
	return v, nil
}

func describe(b []byte) string {
	if len(b) == 0 {
		return "empty body"
	}
	if len(b) > 32 {
		b = b[:32]
	}
	return fmt.Sprintf("starts with %q", b)
}

// JudgeOpenIM judges an after-callback's answer (ADR 0085). OpenIM posts
// after-callbacks fire-and-forget and never acts on the answer, so Roster
// asks only that the receiver took the request: a non-2xx fails by status
// (and is retried); a 2xx whose body is empty or exactly one JSON value
// succeeds whatever actionCode and errCode say (a refusal is noted in the
// verdict's message, which the attempt row keeps). A 2xx body that is not
// one JSON value, such as `{"actionCode":0}Callback ok`, is
// invalid_response: the receiver is broken, and the same answer fails
// every OpenIM before-callback. A body longer than the cap cannot be
// judged and is too_large.
func JudgeOpenIM(r Response) Verdict {
	if r.Err != nil {
		return Verdict{Class: r.Class, Message: r.Err.Error()}
	}
	if c := StatusClass(r.Status); c != ClassNone {
		return Verdict{Class: c, Message: fmt.Sprintf("HTTP %d", r.Status)}
	}
	if r.Truncated {
		return Verdict{Class: ClassTooLarge, Message: "response body longer than the cap"}
	}
	trimmed := bytes.TrimSpace(r.Body)
	if len(trimmed) == 0 {
		return Verdict{Success: true}
	}
	v, err := oneValue(trimmed)
	if err != nil {
		return Verdict{Class: ClassInvalidResponse, Message: err.Error()}
	}
	var resp openim.Response
	if v[0] != '{' || json.Unmarshal(v, &resp) != nil {
		return Verdict{Success: true, Message: "answer is not OpenIM's response object (" + describe(v) + "); accepted: after-callbacks ignore the answer"}
	}
	if resp.ActionCode != 0 || resp.ErrCode != 0 {
		return Verdict{Success: true, Message: fmt.Sprintf("receiver answered actionCode=%d errCode=%d errMsg=%q; accepted: after-callbacks ignore the answer", resp.ActionCode, resp.ErrCode, resp.ErrMsg)}
	}
	return Verdict{Success: true}
}
