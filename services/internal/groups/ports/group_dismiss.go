package ports

import (
	"github.com/rosterhq/roster/events/group"
)

// parseGroupDismiss decodes roster.cmd.group.dismiss (dismiss a group (owner
// only); it accepts no command after), a plainRequest as in commands.go.
// Whether the actor may do it is the domain's rule (group.Decide).
var parseGroupDismiss = plain(group.Dismiss{})
