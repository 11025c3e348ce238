package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseMemberRemove decodes roster.cmd.member.remove (remove members from a
// group), a usersRequest as in commands.go. Whether the actor may do it is the
// domain's rule (group.Decide).
func parseMemberRemove(b []byte) (parsed, error) {
	var r usersRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.UserIDs == nil {
			return nil, missing("user_ids")
		}
		return group.Remove{UserIDs: r.UserIDs}, ids("user_ids", r.UserIDs, 1)
	})
}
