package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseMemberInvite decodes roster.cmd.member.invite (add users to a group
// directly), a usersRequest as in commands.go. Whether the actor may do it is
// the domain's rule (group.Decide).
func parseMemberInvite(b []byte) (parsed, error) {
	var r usersRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.UserIDs == nil {
			return nil, missing("user_ids")
		}
		return group.Invite{UserIDs: r.UserIDs}, ids("user_ids", r.UserIDs, 1)
	})
}
