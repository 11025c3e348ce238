package ports

import (
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// parseMemberRemove decodes roster.cmd.member.remove (remove members from a
// group), a reasonUsersRequest as in commands.go. Whether the actor may do
// it is the domain's rule (group.Decide).
func parseMemberRemove(b []byte) (parsed, error) {
	var r reasonUsersRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.UserIDs == nil {
			return nil, missing("user_ids")
		}
		return group.Remove{UserIDs: r.UserIDs, Reason: r.Reason},
			firstErr(ids("user_ids", r.UserIDs, 1), wire.Text("reason", r.Reason, group.MaxMessageLen))
	})
}
