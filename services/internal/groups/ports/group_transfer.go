package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// transferRequest is the body of roster.cmd.group.transfer (schemas/json/commands/group.transfer.json).
type transferRequest struct {
	envelope
	NewOwner string `json:"new_owner"`
}

// parseGroupTransfer decodes roster.cmd.group.transfer (hand the group's
// ownership to a member). Whether the actor may do it is the domain's rule
// (group.Decide).
func parseGroupTransfer(b []byte) (parsed, error) {
	var r transferRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if err := events.ValidateID("new_owner", r.NewOwner); err != nil {
			return nil, err
		}
		return group.Transfer{NewOwner: r.NewOwner}, nil
	})
}
