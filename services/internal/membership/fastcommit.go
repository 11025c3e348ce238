package membership

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// fastDecodeCommit is decodeCommit's first try: the event store's commit
// decoder (eventstore.DecodeCommit, the one every reader of ROSTER_EVENTS
// uses, docs/adr/0073 and 0074). false sends decodeCommit to encoding/json,
// which then reports the same error.
func fastDecodeCommit(data []byte, c *events.Commit) bool {
	d, err := eventstore.DecodeCommit(data)
	if err != nil {
		return false
	}
	*c = d
	return true
}
