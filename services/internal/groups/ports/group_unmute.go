package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseGroupUnmute decodes roster.cmd.group.unmute (lift a group's mute), a
// plainRequest as in commands.go. Whether the actor may do it is the domain's
// rule (group.Decide).
var parseGroupUnmute = plain(group.UnmuteGroup{})
