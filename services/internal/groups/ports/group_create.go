package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// createRequest is the body of roster.cmd.group.create (schemas/json/commands/group.create.json).
// Admissions are not a caller field: only a policy hook sets them.
type createRequest struct {
	envelope
	Name       string   `json:"name"`
	Intro      string   `json:"intro,omitempty"`
	JoinPolicy *string  `json:"join_policy,omitempty"`
	Members    []string `json:"members,omitempty"`
	// OpenIM's group model (issue 12).
	Admins            []string `json:"admins,omitempty"`
	FaceURL           string   `json:"face_url,omitempty"`
	Ex                string   `json:"ex,omitempty"`
	Notification      string   `json:"notification,omitempty"`
	LookMemberInfo    *int32   `json:"look_member_info,omitempty"`
	ApplyMemberFriend *int32   `json:"apply_member_friend,omitempty"`
}

// parseGroupCreate decodes roster.cmd.group.create (create a group, its actor
// becoming the owner, with optional first admins and members). Whether the
// actor may do it is the domain's rule (group.Decide).
func parseGroupCreate(b []byte) (parsed, error) {
	var r createRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.Name == "" {
			return nil, missing("name")
		}
		if err := firstErr(wire.Name("name", r.Name, group.MaxNameLen), wire.Text("intro", r.Intro, group.MaxIntroLen),
			joinPolicy(r.JoinPolicy), ids("members", r.Members, 0), ids("admins", r.Admins, 0),
			wire.Name("face_url", r.FaceURL, group.MaxFaceURLLen), wire.Text("ex", r.Ex, group.MaxExLen),
			wire.Text("notification", r.Notification, group.MaxNotificationLen),
			flag("look_member_info", r.LookMemberInfo), flag("apply_member_friend", r.ApplyMemberFriend)); err != nil {
			return nil, err
		}
		if len(r.Admins)+len(r.Members) > group.MaxBatchUsers {
			return nil, events.Errorf(events.CodeInvalidArgument, "admins and members: more than %d together", group.MaxBatchUsers)
		}
		c := group.Create{Name: r.Name, Intro: r.Intro, Members: r.Members, Admins: r.Admins,
			FaceURL: r.FaceURL, Ex: r.Ex, Notification: r.Notification}
		if r.JoinPolicy != nil {
			c.JoinPolicy = events.JoinPolicy(*r.JoinPolicy)
		}
		if r.LookMemberInfo != nil {
			c.LookMemberInfo = *r.LookMemberInfo
		}
		if r.ApplyMemberFriend != nil {
			c.ApplyMemberFriend = *r.ApplyMemberFriend
		}
		return c, nil
	})
}
