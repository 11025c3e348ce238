package membership

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// fastDecodeCommit is decodeCommit's first try. The commit decoder, fast
// path and all, is the event store's (eventstore.DecodeCommit, used by
// every reader of ROSTER_EVENTS); false sends decodeCommit to
// encoding/json, which then reports the same error.
func fastDecodeCommit(data []byte, c *events.Commit) bool {
	d, err := eventstore.DecodeCommit(data)
	if err != nil {
		return false
	}
	*c = d
	return true
}
