package app

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// buildCommit turns a decision into the commit that records it: one event
// per change, versions following the state's, each with a fresh id.
func buildCommit(st *group.State, cmd Command, changes []group.Change, now time.Time) (events.Commit, error) {
	c := events.Commit{CommandID: cmd.CommandID, GeneratedCommandID: cmd.GeneratedID, Command: cmd.Name, GroupID: cmd.GroupID, Events: make([]events.Event, 0, len(changes))}
	at := now.UTC()
	for i, ch := range changes {
		data, err := json.Marshal(ch.Data)
		if err != nil {
			return c, fmt.Errorf("encode %s: %w", ch.Type, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return c, fmt.Errorf("event id: %w", err)
		}
		c.Events = append(c.Events, events.Event{
			ID: id.String(), Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type],
			GroupID: cmd.GroupID, Version: st.Version + uint64(i) + 1, OccurredAt: at,
			CommandID: cmd.CommandID, CorrelationID: cmd.CorrelationID, Actor: cmd.Actor, Data: data,
		})
	}
	return c, nil
}

// errCommitTooLarge is the answer to a command whose commit would exceed
// what the store accepts in one message: definite (the same command will
// never fit), so invalid_argument and not unavailable, which callers retry.
func errCommitTooLarge(size, limit int64, cause error) error {
	if size > 0 {
		return events.Wrap(events.CodeInvalidArgument, cause, "commit too large: %d bytes, the server accepts at most %d in one message; split the command", size, limit)
	}
	return events.Wrap(events.CodeInvalidArgument, cause, "commit too large: the server accepts at most %d bytes in one message; split the command", limit)
}

// commitOverhead bounds the bytes a commit message adds to its events'
// variable fields: JSON field names and punctuation, the commit's own
// fields and the Roster-* headers. perEventOverhead bounds one event's
// fixed fields (names, schema version, version, timestamp, id).
const (
	commitOverhead   = 1 << 10
	perEventOverhead = 384
)

// checkCommitSize refuses a commit that cannot be one message of at most
// maxPayload bytes (<= 0: no limit). The estimate is an upper bound (ids,
// actors and correlation ids are validated subject-safe, so JSON never
// escapes them; Data is already JSON), so only a commit near the limit
// pays for an exact encoding.
func checkCommitSize(c events.Commit, maxPayload int64) error {
	if maxPayload <= 0 {
		return nil
	}
	est := int64(commitOverhead + len(c.CommandID) + len(c.Command) + len(c.GroupID))
	for _, ev := range c.Events {
		est += int64(perEventOverhead + len(ev.Type) + len(ev.GroupID) + len(ev.CommandID) + len(ev.CorrelationID) + len(ev.Actor) + len(ev.Data))
	}
	if est <= maxPayload {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil // the append reports it
	}
	// The headers the event store adds (Roster-* and the audit headers,
	// about 300 bytes) are well under commitOverhead/2.
	if size := int64(len(b)) + commitOverhead/2; size > maxPayload {
		return errCommitTooLarge(size, maxPayload, nil)
	}
	return nil
}
