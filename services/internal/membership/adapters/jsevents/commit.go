package jsevents

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rosterhq/roster/events"
)

// DecodeCommit parses a commit message body (the event store's format):
// the fast path for what the store writes, encoding/json for the rest.
func DecodeCommit(data []byte) (events.Commit, error) {
	var c events.Commit
	if !fastDecodeCommit(data, &c) {
		c = events.Commit{}
		if err := json.Unmarshal(data, &c); err != nil {
			return c, fmt.Errorf("decode commit: %w", err)
		}
	}
	if c.GroupID == "" || len(c.Events) == 0 {
		return c, errors.New("decode commit: no group or no events")
	}
	return c, nil
}
