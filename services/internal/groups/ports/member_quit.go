package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseMemberQuit decodes roster.cmd.member.quit (leave a group), a
// plainRequest as in commands.go. Whether the actor may do it is the domain's
// rule (group.Decide).
var parseMemberQuit = plain(group.Quit{})
