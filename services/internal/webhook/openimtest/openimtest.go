// Package openimtest holds what tests of the openim format hold Roster's
// bodies against: OpenIM 3.8.3's after-callback request structs, declared
// here key for key from their source (openimsdk/open-im-server v3.8.3,
// pkg/callbackstruct/group.go at commit fe2c504f, and sdkws.GroupInfo of
// protocol v0.0.73-alpha.12; never imported, never copied), a strict
// decoder that finds every missing or unknown key, and a receiver that
// answers like an OpenIM 3.8 callback server.
package openimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/rosterhq/roster/events"
)

// GroupInfo is sdkws.GroupInfo (protocol sdkws/sdkws.pb.go), embedded in
// CallbackAfterCreateGroupReq.
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

// GroupAddMemberInfo is apistruct.GroupAddMemberInfo
// (pkg/apistruct/manage.go).
type GroupAddMemberInfo struct {
	UserID    string `json:"userID"`
	RoleLevel int32  `json:"roleLevel"`
}

// CallbackAfterCreateGroupReq is callbackstruct.CallbackAfterCreateGroupReq
// (pkg/callbackstruct/group.go; OpenIM embeds *sdkws.GroupInfo).
type CallbackAfterCreateGroupReq struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupInfo
	InitMemberList []*GroupAddMemberInfo `json:"initMemberList"`
}

// CallbackAfterSetGroupInfoReq is
// callbackstruct.CallbackAfterSetGroupInfoReq (pkg/callbackstruct/group.go).
type CallbackAfterSetGroupInfoReq struct {
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

// CallbackAfterSetGroupMemberInfoReq is
// callbackstruct.CallbackAfterSetGroupMemberInfoReq
// (pkg/callbackstruct/group.go; its key is "nickName").
type CallbackAfterSetGroupMemberInfoReq struct {
	CallbackCommand string  `json:"callbackCommand"`
	GroupID         string  `json:"groupID"`
	UserID          string  `json:"userID"`
	Nickname        *string `json:"nickName"`
	FaceURL         *string `json:"faceURL"`
	RoleLevel       *int32  `json:"roleLevel"`
	Ex              *string `json:"ex"`
}

// CallbackQuitGroupReq is callbackstruct.CallbackQuitGroupReq
// (pkg/callbackstruct/group.go).
type CallbackQuitGroupReq struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupID         string `json:"groupID"`
	UserID          string `json:"userID"`
}

// CallbackKillGroupMemberReq is callbackstruct.CallbackKillGroupMemberReq
// (pkg/callbackstruct/group.go), sent as callbackAfterKickGroupCommand.
type CallbackKillGroupMemberReq struct {
	CallbackCommand string   `json:"callbackCommand"`
	GroupID         string   `json:"groupID"`
	KickedUserIDs   []string `json:"kickedUserIDs"`
	Reason          string   `json:"reason"`
}

// CallbackDisMissGroupReq is callbackstruct.CallbackDisMissGroupReq
// (pkg/callbackstruct/group.go).
type CallbackDisMissGroupReq struct {
	CallbackCommand string   `json:"callbackCommand"`
	GroupID         string   `json:"groupID"`
	OwnerID         string   `json:"ownerID"`
	GroupType       string   `json:"groupType"`
	MembersID       []string `json:"membersID"`
}

// CallbackAfterJoinGroupReq is callbackstruct.CallbackAfterJoinGroupReq
// (pkg/callbackstruct/group.go).
type CallbackAfterJoinGroupReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	ReqMessage      string `json:"reqMessage"`
	JoinSource      int32  `json:"joinSource"`
	InviterUserID   string `json:"inviterUserID"`
}

// CallbackTransferGroupOwnerReq is
// callbackstruct.CallbackTransferGroupOwnerReq (pkg/callbackstruct/group.go).
type CallbackTransferGroupOwnerReq struct {
	CallbackCommand string `json:"callbackCommand"`
	GroupID         string `json:"groupID"`
	OldOwnerUserID  string `json:"oldOwnerUserID"`
	NewOwnerUserID  string `json:"newOwnerUserID"`
}

// OpenIM 3.8's callbackCommands (pkg/callbackstruct/constant.go) of the
// group after-callbacks, and the request struct of each.
var After = map[string]func() any{
	"callbackAfterCreateGroupCommand":        func() any { return new(CallbackAfterCreateGroupReq) },
	"callbackAfterSetGroupInfoCommand":       func() any { return new(CallbackAfterSetGroupInfoReq) },
	"callbackAfterSetGroupMemberInfoCommand": func() any { return new(CallbackAfterSetGroupMemberInfoReq) },
	"callbackAfterQuitGroupCommand":          func() any { return new(CallbackQuitGroupReq) },
	"callbackAfterKickGroupCommand":          func() any { return new(CallbackKillGroupMemberReq) },
	"callbackAfterDisMissGroupCommand":       func() any { return new(CallbackDisMissGroupReq) },
	"callbackAfterJoinGroupCommand":          func() any { return new(CallbackAfterJoinGroupReq) },
	"callbackAfterTransferGroupOwnerCommand": func() any { return new(CallbackTransferGroupOwnerReq) },
	// afterSetGroupInfoEx (SetGroupInfoEx's callback) has no Roster
	// operation of its own: group.updated is sent as afterSetGroupInfo.
	"callbackAfterSetGroupInfoExCommand": func() any { return new(CallbackAfterSetGroupInfoReq) },
}

// Roster's extension bodies (docs/webhooks.md, "Roster extensions"): no
// OpenIM struct; declared from Roster's documentation.

// RosterGroupMuteReq: callbackAfterMuteGroupCommand and
// callbackAfterCancelMuteGroupCommand.
type RosterGroupMuteReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
}

// RosterInviteReq: callbackAfterInviteUserToGroupCommand.
type RosterInviteReq struct {
	CallbackCommand string   `json:"callbackCommand"`
	OperationID     string   `json:"operationID"`
	GroupID         string   `json:"groupID"`
	OperatorUserID  string   `json:"operatorUserID"`
	InvitedUserIDs  []string `json:"invitedUserIDs"`
	InviterUserID   string   `json:"inviterUserID"`
	Reason          string   `json:"reason"`
}

// RosterApplyReq: callbackAfterApplyJoinGroupCommand.
type RosterApplyReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
	UserID          string `json:"userID"`
	ReqMessage      string `json:"reqMessage"`
	InviterUserID   string `json:"inviterUserID"`
	JoinSource      int32  `json:"joinSource"`
}

// RosterApproveReq: callbackAfterApproveJoinGroupCommand.
type RosterApproveReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
	UserID          string `json:"userID"`
	InviterUserID   string `json:"inviterUserID"`
	JoinSource      int32  `json:"joinSource"`
}

// RosterRejectReq: callbackAfterRejectJoinGroupCommand.
type RosterRejectReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
	UserID          string `json:"userID"`
	Reason          string `json:"reason"`
}

// RosterMemberMuteReq: callbackAfterMuteGroupMemberCommand.
type RosterMemberMuteReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
	UserID          string `json:"userID"`
	MuteEndTime     int64  `json:"muteEndTime"`
}

// RosterMemberUnmuteReq: callbackAfterCancelMuteGroupMemberCommand.
type RosterMemberUnmuteReq struct {
	CallbackCommand string `json:"callbackCommand"`
	OperationID     string `json:"operationID"`
	GroupID         string `json:"groupID"`
	OperatorUserID  string `json:"operatorUserID"`
	UserID          string `json:"userID"`
}

// Extensions maps Roster's extension commands to their bodies.
var Extensions = map[string]func() any{
	"callbackAfterMuteGroupCommand":             func() any { return new(RosterGroupMuteReq) },
	"callbackAfterCancelMuteGroupCommand":       func() any { return new(RosterGroupMuteReq) },
	"callbackAfterInviteUserToGroupCommand":     func() any { return new(RosterInviteReq) },
	"callbackAfterApplyJoinGroupCommand":        func() any { return new(RosterApplyReq) },
	"callbackAfterApproveJoinGroupCommand":      func() any { return new(RosterApproveReq) },
	"callbackAfterRejectJoinGroupCommand":       func() any { return new(RosterRejectReq) },
	"callbackAfterMuteGroupMemberCommand":       func() any { return new(RosterMemberMuteReq) },
	"callbackAfterCancelMuteGroupMemberCommand": func() any { return new(RosterMemberUnmuteReq) },
}

// Decoded is one body held against its struct.
type Decoded struct {
	Command string
	// Req is a pointer to the command's struct, decoded.
	Req any
	// Raw holds the body's keys (rosterEvent removed).
	Raw         map[string]json.RawMessage
	RosterEvent events.Event
}

// Decode holds body against the struct of its callbackCommand: the body
// must carry rosterEvent (a Roster event), and without it decode with
// DisallowUnknownFields (no key OpenIM lacks) and hold every key of the
// struct (no key OpenIM sends missing).
func Decode(body []byte) (Decoded, error) {
	var d Decoded
	if err := json.Unmarshal(body, &d.Raw); err != nil {
		return d, fmt.Errorf("body is not one JSON object: %w", err)
	}
	ev, ok := d.Raw["rosterEvent"]
	if !ok {
		return d, fmt.Errorf("no rosterEvent key")
	}
	if err := json.Unmarshal(ev, &d.RosterEvent); err != nil {
		return d, fmt.Errorf("rosterEvent: %w", err)
	}
	delete(d.Raw, "rosterEvent")
	if err := json.Unmarshal(d.Raw["callbackCommand"], &d.Command); err != nil {
		return d, fmt.Errorf("callbackCommand: %w", err)
	}
	mk, ok := After[d.Command]
	if !ok {
		if mk, ok = Extensions[d.Command]; !ok {
			return d, fmt.Errorf("callbackCommand %q is neither an OpenIM 3.8 after-callback nor a Roster extension", d.Command)
		}
	}
	d.Req = mk()
	rest, err := json.Marshal(d.Raw)
	if err != nil {
		return d, err
	}
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(d.Req); err != nil {
		return d, fmt.Errorf("%s: %w", d.Command, err)
	}
	var missing []string
	for _, k := range Keys(d.Req) {
		if _, ok := d.Raw[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return d, fmt.Errorf("%s: keys missing: %s", d.Command, strings.Join(missing, ", "))
	}
	return d, nil
}

// Keys lists the JSON keys of the struct v points to, those of embedded
// structs flattened as encoding/json does.
func Keys(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			keys = append(keys, Keys(reflect.New(f.Type).Interface())...)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		keys = append(keys, name)
	}
	return keys
}

// Request is one request a Receiver38 got.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
	Status int
}

// Receiver38 answers like an OpenIM 3.8 callback server: it routes only
// the after-callbacks OpenIM 3.8 sends, under base (e.g. "/callback"),
// and answers 404 to every other path. Answer picks each routed
// request's status and body (default 200 with OpenIM's success object).
type Receiver38 struct {
	Base   string
	Answer func(command string, n int) (int, string)

	mu   sync.Mutex
	reqs []Request
}

// ServeHTTP implements http.Handler.
func (rv *Receiver38) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	cmd, routed := strings.CutPrefix(r.URL.Path, rv.Base+"/")
	_, known := After[cmd]
	status, body := http.StatusNotFound, "404 page not found"
	rv.mu.Lock()
	if routed && known && r.Method == http.MethodPost {
		status, body = http.StatusOK, `{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`
		if rv.Answer != nil {
			status, body = rv.Answer(cmd, len(rv.reqs))
		}
	}
	rv.reqs = append(rv.reqs, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: buf.Bytes(), Status: status})
	rv.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Requests returns a copy of every request so far.
func (rv *Receiver38) Requests() []Request {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]Request(nil), rv.reqs...)
}
