package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// joinRequest is the body of roster.cmd.member.join (schemas/json/commands/member.join.json).
type joinRequest struct {
	envelope
	Message string `json:"message,omitempty"`
	// OpenIM's joinSource (2 invitation, 3 search, 4 QR code; absent: 3)
	// and the application's ex (issue 12).
	Source *int   `json:"source,omitempty"`
	Ex     string `json:"ex,omitempty"`
}

// parseMemberJoin decodes roster.cmd.member.join (join an open group, or ask
// to join one that needs approval). Whether the actor may do it is the
// domain's rule (group.Decide).
func parseMemberJoin(b []byte) (parsed, error) {
	var r joinRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		c := group.Join{Message: r.Message, Ex: r.Ex}
		if r.Source != nil {
			c.Source = events.JoinSource(*r.Source)
			if !c.Source.Valid() {
				return nil, events.Errorf(events.CodeInvalidArgument, "source: %d is not one of 2, 3, 4", *r.Source)
			}
		}
		return c, firstErr(wire.Text("message", r.Message, group.MaxMessageLen), wire.Text("ex", r.Ex, group.MaxExLen))
	})
}
