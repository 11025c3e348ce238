package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// parseMemberUnmute decodes roster.cmd.member.unmute (lift a member's mute), a
// userRequest as in commands.go. Whether the actor may do it is the domain's
// rule (group.Decide).
func parseMemberUnmute(b []byte) (parsed, error) {
	var r userRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		return group.UnmuteMember{UserID: r.UserID}, events.ValidateID("user_id", r.UserID)
	})
}
