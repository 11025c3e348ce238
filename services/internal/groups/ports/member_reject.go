package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// rejectRequest is the body of roster.cmd.member.reject (schemas/json/commands/member.reject.json).
type rejectRequest struct {
	envelope
	UserID string `json:"user_id"`
	Reason string `json:"reason,omitempty"`
}

// parseMemberReject decodes roster.cmd.member.reject (reject a pending join
// request). Whether the actor may do it is the domain's rule (group.Decide).
func parseMemberReject(b []byte) (parsed, error) {
	var r rejectRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		return group.Reject{UserID: r.UserID, Reason: r.Reason}, firstErr(events.ValidateID("user_id", r.UserID), wire.Text("reason", r.Reason, group.MaxMessageLen))
	})
}
