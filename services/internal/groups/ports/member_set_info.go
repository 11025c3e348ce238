package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// setInfoRequest is the body of roster.cmd.member.set_info (schemas/json/commands/member.set_info.json).
type setInfoRequest struct {
	envelope
	UserID   string  `json:"user_id"`
	Nickname *string `json:"nickname,omitempty"`
	FaceURL  *string `json:"face_url,omitempty"`
	Ex       *string `json:"ex,omitempty"`
	Role     *string `json:"role,omitempty"`
}

// parseMemberSetInfo decodes roster.cmd.member.set_info (OpenIM's
// SetGroupMemberInfo: set a member's nickname, face_url, ex and, as
// member.set_role does, their role). Whether the actor may do it is the
// domain's rule (group.Decide).
func parseMemberSetInfo(b []byte) (parsed, error) {
	var r setInfoRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if err := events.ValidateID("user_id", r.UserID); err != nil {
			return nil, err
		}
		if r.Nickname == nil && r.FaceURL == nil && r.Ex == nil && r.Role == nil {
			return nil, events.Errorf(events.CodeInvalidArgument, "give at least one of nickname, face_url, ex, role")
		}
		if err := firstErr(optText("nickname", r.Nickname, group.MaxNicknameLen, true),
			optText("face_url", r.FaceURL, group.MaxFaceURLLen, true), optText("ex", r.Ex, group.MaxExLen, false)); err != nil {
			return nil, err
		}
		c := group.SetInfo{UserID: r.UserID, Nickname: r.Nickname, FaceURL: r.FaceURL, Ex: r.Ex}
		if r.Role != nil {
			if *r.Role != string(events.RoleAdmin) && *r.Role != string(events.RoleMember) {
				return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not one of admin, member", *r.Role)
			}
			role := events.Role(*r.Role)
			c.Role = &role
		}
		return c, nil
	})
}
