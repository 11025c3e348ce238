package ports

import (
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// muteRequest is the body of roster.cmd.member.mute (schemas/json/commands/member.mute.json).
type muteRequest struct {
	envelope
	UserID          string `json:"user_id"`
	DurationSeconds int64  `json:"duration_seconds"`
}

// parseMemberMute decodes roster.cmd.member.mute (mute a member for a while).
// Whether the actor may do it is the domain's rule (group.Decide).
func parseMemberMute(b []byte) (parsed, error) {
	var r muteRequest
	return with(b, &r, &r.envelope, func() (group.Command, error) {
		if err := events.ValidateID("user_id", r.UserID); err != nil {
			return nil, err
		}
		if r.DurationSeconds <= 0 || r.DurationSeconds > int64(group.MaxMuteDuration/time.Second) {
			return nil, events.Errorf(events.CodeInvalidArgument, "duration_seconds: must be between 1 and %d", int64(group.MaxMuteDuration/time.Second))
		}
		return group.MuteMember{UserID: r.UserID, Duration: time.Duration(r.DurationSeconds) * time.Second}, nil
	})
}
