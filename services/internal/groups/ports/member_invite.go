package ports

import (
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// parseMemberInvite decodes roster.cmd.member.invite (add users to a group,
// or under all_approval, for an ordinary member, ask for them), a
// reasonUsersRequest as in commands.go. Admissions are not a caller field:
// only a policy hook sets them. Whether the actor may do it is the
// domain's rule (group.Decide).
func parseMemberInvite(b []byte) (parsed, error) {
	var r reasonUsersRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if r.UserIDs == nil {
			return nil, missing("user_ids")
		}
		return group.Invite{UserIDs: r.UserIDs, Reason: r.Reason},
			firstErr(ids("user_ids", r.UserIDs, 1), wire.Text("reason", r.Reason, group.MaxMessageLen))
	})
}
