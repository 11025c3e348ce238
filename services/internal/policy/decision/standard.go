package decision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/policy/hook"
)

// StandardType is the type of every standard policy request.
const StandardType = "policy.check"

// standardReq is the body of a standard hook's request (docs/policy.md).
type standardReq struct {
	Type      string       `json:"type"`
	Command   string       `json:"command"`
	GroupID   string       `json:"group_id"`
	Actor     string       `json:"actor"`
	CommandID string       `json:"command_id"`
	Input     any          `json:"input"`
	Group     GroupSummary `json:"group"`
}

// GroupSummary is what a standard hook is told of the group: its fields,
// its size and the actor's role (not the member list).
type GroupSummary struct {
	ID           string            `json:"id"`
	Exists       bool              `json:"exists"`
	Dismissed    bool              `json:"dismissed"`
	Version      uint64            `json:"version"`
	Name         string            `json:"name"`
	Intro        string            `json:"intro"`
	JoinPolicy   events.JoinPolicy `json:"join_policy"`
	Owner        string            `json:"owner"`
	Muted        bool              `json:"muted"`
	MemberCount  int               `json:"member_count"`
	PendingCount int               `json:"pending_count"`
	ActorRole    events.Role       `json:"actor_role"`
}

// Summary is the summary of st as actor sees it.
func Summary(in Input) GroupSummary {
	st := in.Group
	if st == nil {
		return GroupSummary{}
	}
	return GroupSummary{
		ID: st.ID, Exists: st.Exists, Dismissed: st.Dismissed, Version: st.Version, Name: st.Name, Intro: st.Intro,
		JoinPolicy: st.JoinPolicy, Owner: st.Owner, Muted: st.Muted, MemberCount: in.MemberCount,
		PendingCount: in.PendingCount, ActorRole: st.Role(in.Actor),
	}
}

// The commands' fields as on the wire (the snake_case names of
// docs/commands.md and the events' data): a standard request's input, and
// the shape its answer's patch is decoded into. A patch replaces the keys
// it names.
type (
	createWire struct {
		Name              string                      `json:"name"`
		Intro             string                      `json:"intro"`
		JoinPolicy        events.JoinPolicy           `json:"join_policy"`
		Members           []string                    `json:"members"`
		Admins            []string                    `json:"admins"`
		FaceURL           string                      `json:"face_url"`
		Ex                string                      `json:"ex"`
		Notification      string                      `json:"notification"`
		LookMemberInfo    int32                       `json:"look_member_info"`
		ApplyMemberFriend int32                       `json:"apply_member_friend"`
		Admissions        map[string]events.Admission `json:"admissions"`
	}
	updateWire struct {
		Name              *string            `json:"name,omitempty"`
		Intro             *string            `json:"intro,omitempty"`
		JoinPolicy        *events.JoinPolicy `json:"join_policy,omitempty"`
		FaceURL           *string            `json:"face_url,omitempty"`
		Ex                *string            `json:"ex,omitempty"`
		Notification      *string            `json:"notification,omitempty"`
		LookMemberInfo    *int32             `json:"look_member_info,omitempty"`
		ApplyMemberFriend *int32             `json:"apply_member_friend,omitempty"`
	}
	transferWire struct {
		NewOwner string `json:"new_owner"`
	}
	inviteWire struct {
		UserIDs    []string                    `json:"user_ids"`
		Reason     string                      `json:"reason"`
		Admissions map[string]events.Admission `json:"admissions"`
	}
	joinWire struct {
		Message   string            `json:"message"`
		Source    events.JoinSource `json:"source"`
		Ex        string            `json:"ex"`
		Admission *events.Admission `json:"admission"`
	}
	approveWire struct {
		UserID    string            `json:"user_id"`
		Admission *events.Admission `json:"admission"`
	}
	setInfoWire struct {
		UserID   string       `json:"user_id"`
		Nickname *string      `json:"nickname,omitempty"`
		FaceURL  *string      `json:"face_url,omitempty"`
		Ex       *string      `json:"ex,omitempty"`
		Role     *events.Role `json:"role,omitempty"`
	}
	setRoleWire struct {
		UserID string      `json:"user_id"`
		Role   events.Role `json:"role"`
	}
	removeWire struct {
		UserIDs []string `json:"user_ids"`
		Reason  string   `json:"reason"`
	}
)

// wireOf is cmd's wire form (a pointer, so a patch decodes onto it).
func wireOf(cmd group.Command) (any, error) {
	switch c := cmd.(type) {
	case group.Create:
		return &createWire{c.Name, c.Intro, c.JoinPolicy, c.Members, c.Admins, c.FaceURL, c.Ex, c.Notification,
			c.LookMemberInfo, c.ApplyMemberFriend, c.Admissions}, nil
	case group.Update:
		return &updateWire{c.Name, c.Intro, c.JoinPolicy, c.FaceURL, c.Ex, c.Notification, c.LookMemberInfo, c.ApplyMemberFriend}, nil
	case group.Transfer:
		return &transferWire{c.NewOwner}, nil
	case group.Invite:
		return &inviteWire{c.UserIDs, c.Reason, c.Admissions}, nil
	case group.Join:
		return &joinWire{c.Message, c.Source, c.Ex, c.Admission}, nil
	case group.Approve:
		return &approveWire{c.UserID, c.Admission}, nil
	case group.SetInfo:
		return &setInfoWire{c.UserID, c.Nickname, c.FaceURL, c.Ex, c.Role}, nil
	case group.SetRole:
		return &setRoleWire{c.UserID, c.Role}, nil
	case group.Remove:
		return &removeWire{c.UserIDs, c.Reason}, nil
	}
	return nil, fmt.Errorf("%s cannot be guarded by a policy hook", cmd.Kind())
}

// commandOf is the command a (patched) wire form stands for.
func commandOf(w any) group.Command {
	switch w := w.(type) {
	case *createWire:
		return group.Create{Name: w.Name, Intro: w.Intro, JoinPolicy: w.JoinPolicy, Members: w.Members, Admins: w.Admins,
			FaceURL: w.FaceURL, Ex: w.Ex, Notification: w.Notification, LookMemberInfo: w.LookMemberInfo,
			ApplyMemberFriend: w.ApplyMemberFriend, Admissions: w.Admissions}
	case *updateWire:
		return group.Update{Name: w.Name, Intro: w.Intro, JoinPolicy: w.JoinPolicy, FaceURL: w.FaceURL, Ex: w.Ex,
			Notification: w.Notification, LookMemberInfo: w.LookMemberInfo, ApplyMemberFriend: w.ApplyMemberFriend}
	case *transferWire:
		return group.Transfer{NewOwner: w.NewOwner}
	case *inviteWire:
		return group.Invite{UserIDs: w.UserIDs, Reason: w.Reason, Admissions: w.Admissions}
	case *joinWire:
		return group.Join{Message: w.Message, Source: w.Source, Ex: w.Ex, Admission: w.Admission}
	case *approveWire:
		return group.Approve{UserID: w.UserID, Admission: w.Admission}
	case *setInfoWire:
		return group.SetInfo{UserID: w.UserID, Nickname: w.Nickname, FaceURL: w.FaceURL, Ex: w.Ex, Role: w.Role}
	case *setRoleWire:
		return group.SetRole{UserID: w.UserID, Role: w.Role}
	case *removeWire:
		return group.Remove{UserIDs: w.UserIDs, Reason: w.Reason}
	}
	return nil
}

func standardBody(in Input) ([]byte, error) {
	w, err := wireOf(in.Command)
	if err != nil {
		return nil, err
	}
	return json.Marshal(standardReq{
		Type: StandardType, Command: in.Command.Kind(), GroupID: in.GroupID, Actor: in.Actor, CommandID: in.CommandID,
		Input: w, Group: Summary(in),
	})
}

// standardAnswer is a standard hook's answer. allow is required; patch,
// when allow is true, replaces the command fields it names.
type standardAnswer struct {
	Allow   *bool           `json:"allow"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Patch   json.RawMessage `json:"patch"`
}

func judgeStandard(h hook.Hook, in Input, answer []byte) Verdict {
	obj, err := oneObject(answer)
	if err != nil {
		return invalid(in, "%s", err)
	}
	var a standardAnswer
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return invalid(in, "not a policy answer {allow, code, message, patch}: %v", err)
	}
	if a.Allow == nil {
		return invalid(in, "the answer has no allow")
	}
	if !*a.Allow {
		return Verdict{
			Outcome: Denied, Command: in.Command, Code: a.Code, Message: a.Message,
			Details: map[string]any{"hook_id": h.ID, "code": a.Code, "message": a.Message},
		}
	}
	patch := bytes.TrimSpace(a.Patch)
	if len(patch) == 0 || string(patch) == "null" {
		return Verdict{Outcome: Allowed, Command: in.Command}
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(patch, &keys); err != nil {
		return invalid(in, "patch is not a JSON object")
	}
	if len(keys) == 0 {
		return Verdict{Outcome: Allowed, Command: in.Command}
	}
	w, err := wireOf(in.Command)
	if err != nil {
		return invalid(in, "%s", err)
	}
	pd := json.NewDecoder(bytes.NewReader(patch))
	pd.DisallowUnknownFields()
	if err := pd.Decode(w); err != nil {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		return invalid(in, "patch %v does not fit %s's fields: %v", names, in.Command.Kind(), err)
	}
	return Verdict{Outcome: Overridden, Command: commandOf(w), Override: json.RawMessage(patch)}
}
