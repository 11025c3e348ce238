package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/events"
)

// OpenIM after-callback commands, by Roster event type. Where OpenIM 3.8
// has an after-callback for the operation its name is used verbatim, so an
// existing receiver's routes match; where OpenIM has none (it sends no
// callback after an invite, a mute, a rejection) the name follows the same
// pattern and is documented in docs/webhooks.md.
var openIMCommands = map[events.Type]string{
	events.GroupCreated:              "callbackAfterCreateGroupCommand",
	events.GroupUpdated:              "callbackAfterSetGroupInfoCommand",
	events.GroupDismissed:            "callbackDisMissGroupCommand",
	events.GroupOwnershipTransferred: "callbackAfterTransferGroupOwnerCommand",
	events.GroupMuted:                "callbackAfterMuteGroupCommand",
	events.GroupUnmuted:              "callbackAfterCancelMuteGroupCommand",
	events.MemberInvited:             "callbackAfterInviteUserToGroupCommand",
	events.MemberJoined:              "callbackAfterJoinGroupCommand",
	events.MemberJoinRequested:       "callbackAfterApplyJoinGroupCommand",
	events.MemberJoinApproved:        "callbackAfterJoinGroupCommand",
	events.MemberJoinRejected:        "callbackAfterRejectJoinGroupCommand",
	events.MemberRemoved:             "callbackKillGroupMemberCommand",
	events.MemberQuit:                "callbackQuitGroupCommand",
	events.MemberRoleChanged:         "callbackAfterSetGroupMemberInfoCommand",
	events.MemberMuted:               "callbackAfterMuteGroupMemberCommand",
	events.MemberUnmuted:             "callbackAfterCancelMuteGroupMemberCommand",
}

// OpenIMTestCommand is the callbackCommand of a "roster webhook test".
const OpenIMTestCommand = "callbackRosterTestCommand"

// OpenIMCommand returns the callbackCommand for an event type.
func OpenIMCommand(t events.Type) (string, bool) {
	c, ok := openIMCommands[t]
	return c, ok
}

// BuildOpenIM builds OpenIM's after-callback for e: POST {url}/{command}
// with OpenIM's body fields (callbackCommand, operationID, groupID and the
// operation's fields) and OpenIM's only headers (operationID, Content-Type).
// operationID is the stable message id, so a receiver can deduplicate on
// it. The whole Roster event rides along as "rosterEvent" (OpenIM
// receivers ignore unknown fields).
func BuildOpenIM(baseURL, operationID string, e events.Event) (Built, error) {
	cmd, ok := OpenIMCommand(e.Type)
	if !ok {
		cmd = OpenIMTestCommand
	}
	body := map[string]any{
		"callbackCommand": cmd,
		"operationID":     operationID,
		"groupID":         e.GroupID,
		"rosterEvent":     e,
	}
	if _, ok := openIMCommands[e.Type]; ok {
		_, data, err := events.Decode(e)
		if err != nil {
			return Built{}, err
		}
		openIMFields(body, e, data)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Built{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("operationID", operationID)
	return Built{URL: strings.TrimRight(baseURL, "/") + "/" + cmd, Body: b, Headers: h}, nil
}

// openIMFields adds OpenIM's field names for the operation.
func openIMFields(b map[string]any, e events.Event, data any) {
	b["operatorUserID"] = e.Actor
	switch d := data.(type) {
	case *events.GroupCreatedData:
		members := []map[string]any{{"userID": d.Owner, "roleLevel": events.RoleOwner.Level()}}
		for _, m := range d.Members {
			members = append(members, map[string]any{"userID": m, "roleLevel": events.RoleMember.Level()})
		}
		b["groupName"], b["introduction"] = d.Name, d.Intro
		b["ownerUserID"], b["creatorUserID"] = d.Owner, e.Actor
		b["needVerification"] = needVerification(d.JoinPolicy)
		b["createTime"] = e.OccurredAt.UnixMilli()
		b["initMemberList"] = members
	case *events.GroupUpdatedData:
		if d.Name != nil {
			b["groupName"] = *d.Name
		}
		if d.Intro != nil {
			b["introduction"] = *d.Intro
		}
		if d.JoinPolicy != nil {
			b["needVerification"] = needVerification(*d.JoinPolicy)
		}
	case *events.GroupDismissedData:
		b["ownerID"] = e.Actor
	case *events.GroupOwnershipTransferredData:
		b["oldOwnerUserID"], b["newOwnerUserID"] = d.From, d.To
	case *events.MemberInvitedData:
		b["invitedUserIDs"], b["inviterUserID"] = []string{d.UserID}, d.Inviter
	case *events.MemberJoinedData:
		b["userID"], b["joinSource"] = d.UserID, 3 // OpenIM: 3 = search/direct
	case *events.MemberJoinRequestedData:
		b["userID"], b["reqMessage"] = d.UserID, d.Message
	case *events.MemberJoinApprovedData:
		b["userID"], b["inviterUserID"], b["joinSource"] = d.UserID, d.Approver, 3
	case *events.MemberJoinRejectedData:
		b["userID"], b["reason"] = d.UserID, d.Reason
	case *events.MemberRemovedData:
		b["kickedUserIDs"], b["reason"] = []string{d.UserID}, ""
	case *events.MemberQuitData:
		b["userID"] = d.UserID
	case *events.MemberRoleChangedData:
		b["userID"], b["roleLevel"] = d.UserID, d.Role.Level()
	case *events.MemberMutedData:
		b["userID"], b["muteEndTime"] = d.UserID, d.Until.UnixMilli()
	case *events.MemberUnmutedData:
		b["userID"] = d.UserID
	}
}

// needVerification follows OpenIM: 0 apply+invite need approval, 1 all
// may join, 2 invite directly, apply needs approval.
func needVerification(p events.JoinPolicy) int {
	switch p {
	case events.PolicyOpen:
		return 1
	case events.PolicyInviteOnly:
		return 0
	}
	return 2
}

// OpenIMResponse is OpenIM's callback response contract.
type OpenIMResponse struct {
	ActionCode int    `json:"actionCode"`
	ErrCode    int    `json:"errCode"`
	ErrMsg     string `json:"errMsg"`
	ErrDlt     string `json:"errDlt"`
	NextCode   int    `json:"nextCode"`
}

// ErrNotOneObject means a body is not exactly one JSON object.
var ErrNotOneObject = errors.New("response body is not exactly one JSON object")

// ParseOpenIMResponse parses body strictly: exactly one JSON object (only
// whitespace around it) with OpenIM's field types. Anything else, e.g.
// `{"actionCode":0}Callback ok`, `200 Content`, HTML or an empty body, is
// an error wrapping ErrNotOneObject.
func ParseOpenIMResponse(body []byte) (OpenIMResponse, error) {
	var r OpenIMResponse
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

func describe(b []byte) string {
	if len(b) == 0 {
		return "empty body"
	}
	if len(b) > 32 {
		b = b[:32]
	}
	return fmt.Sprintf("starts with %q", b)
}

// JudgeOpenIM: non-2xx fails by status; a 2xx body must parse strictly
// and carry actionCode 0 and errCode 0. A body longer than the cap cannot
// be judged and is too_large.
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
	resp, err := ParseOpenIMResponse(r.Body)
	if err != nil {
		return Verdict{Class: ClassInvalidResponse, Message: err.Error()}
	}
	if resp.ActionCode != 0 || resp.ErrCode != 0 {
		return Verdict{Class: ClassInvalidResponse, Message: fmt.Sprintf("receiver answered actionCode=%d errCode=%d errMsg=%q", resp.ActionCode, resp.ErrCode, resp.ErrMsg)}
	}
	return Verdict{Success: true}
}
