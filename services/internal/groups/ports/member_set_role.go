package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// setRoleRequest is the body of roster.cmd.member.set_role (schemas/json/commands/member.set_role.json).
type setRoleRequest struct {
	envelope
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// parseMemberSetRole decodes roster.cmd.member.set_role (give a member the
// admin or the member role). Whether the actor may do it is the domain's rule
// (group.Decide).
func parseMemberSetRole(b []byte) (parsed, error) {
	var r setRoleRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.Role == "" {
			return nil, missing("role")
		}
		if r.Role != string(events.RoleAdmin) && r.Role != string(events.RoleMember) {
			return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not one of admin, member", r.Role)
		}
		return group.SetRole{UserID: r.UserID, Role: events.Role(r.Role)}, events.ValidateID("user_id", r.UserID)
	})
}
