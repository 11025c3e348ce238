package ports

import (
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// joinRequest is the body of roster.cmd.member.join (schemas/json/commands/member.join.json).
type joinRequest struct {
	envelope
	Message string `json:"message,omitempty"`
}

// parseMemberJoin decodes roster.cmd.member.join (join an open group, or ask
// to join one that needs approval). Whether the actor may do it is the
// domain's rule (group.Decide).
func parseMemberJoin(b []byte) (parsed, error) {
	var r joinRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		return group.Join{Message: r.Message}, wire.Text("message", r.Message, group.MaxMessageLen)
	})
}
