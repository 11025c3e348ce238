package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// updateRequest is the body of roster.cmd.group.update (schemas/json/commands/group.update.json).
type updateRequest struct {
	envelope
	Name       *string `json:"name,omitempty"`
	Intro      *string `json:"intro,omitempty"`
	JoinPolicy *string `json:"join_policy,omitempty"`
	// OpenIM's group model (issue 12).
	FaceURL           *string `json:"face_url,omitempty"`
	Ex                *string `json:"ex,omitempty"`
	Notification      *string `json:"notification,omitempty"`
	LookMemberInfo    *int32  `json:"look_member_info,omitempty"`
	ApplyMemberFriend *int32  `json:"apply_member_friend,omitempty"`
}

// parseGroupUpdate decodes roster.cmd.group.update (change a group's name,
// intro, join policy or OpenIM fields). Whether the actor may do it is the
// domain's rule (group.Decide).
func parseGroupUpdate(b []byte) (parsed, error) {
	var r updateRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.Name == nil && r.Intro == nil && r.JoinPolicy == nil && r.FaceURL == nil && r.Ex == nil &&
			r.Notification == nil && r.LookMemberInfo == nil && r.ApplyMemberFriend == nil {
			return nil, events.Errorf(events.CodeInvalidArgument,
				"give at least one of name, intro, join_policy, face_url, ex, notification, look_member_info, apply_member_friend")
		}
		if r.Name != nil {
			if *r.Name == "" {
				return nil, events.Errorf(events.CodeInvalidArgument, "name: must not be empty")
			}
			if err := wire.Name("name", *r.Name, group.MaxNameLen); err != nil {
				return nil, err
			}
		}
		if err := firstErr(optText("intro", r.Intro, group.MaxIntroLen, false), joinPolicy(r.JoinPolicy),
			optText("face_url", r.FaceURL, group.MaxFaceURLLen, true), optText("ex", r.Ex, group.MaxExLen, false),
			optText("notification", r.Notification, group.MaxNotificationLen, false),
			flag("look_member_info", r.LookMemberInfo), flag("apply_member_friend", r.ApplyMemberFriend)); err != nil {
			return nil, err
		}
		c := group.Update{Name: r.Name, Intro: r.Intro, FaceURL: r.FaceURL, Ex: r.Ex, Notification: r.Notification,
			LookMemberInfo: r.LookMemberInfo, ApplyMemberFriend: r.ApplyMemberFriend}
		if r.JoinPolicy != nil {
			p := events.JoinPolicy(*r.JoinPolicy)
			c.JoinPolicy = &p
		}
		return c, nil
	})
}
