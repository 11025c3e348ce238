package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseGroupMute decodes roster.cmd.group.mute (mute a whole group), a
// plainRequest as in commands.go. Whether the actor may do it is the domain's
// rule (group.Decide).
var parseGroupMute = plain(group.MuteGroup{})
