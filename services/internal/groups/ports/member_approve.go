package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// parseMemberApprove decodes roster.cmd.member.approve (approve a pending join
// request), a userRequest as in commands.go. Whether the actor may do it is
// the domain's rule (group.Decide).
func parseMemberApprove(b []byte) (parsed, error) {
	var r userRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		return group.Approve{UserID: r.UserID}, events.ValidateID("user_id", r.UserID)
	})
}
