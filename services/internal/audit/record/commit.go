package record

import (
	"fmt"
	"time"

	"github.com/rosterhq/roster/events"
)

// EventsFromCommit turns a commit read from ROSTER_EVENTS at stream
// sequence seq into event records.
func EventsFromCommit(c events.Commit, seq uint64) ([]Event, error) {
	if len(c.Events) == 0 {
		return nil, Malformed("commit %q of %q has no events", c.CommandID, c.GroupID)
	}
	out := make([]Event, 0, len(c.Events))
	for _, e := range c.Events {
		ev := Event{
			ID:            e.ID,
			Type:          string(e.Type),
			SchemaVersion: e.SchemaVersion,
			GroupID:       e.GroupID,
			Version:       e.Version,
			StreamSeq:     seq,
			CommandID:     e.CommandID,
			CorrelationID: e.CorrelationID,
			Actor:         e.Actor,
			OccurredAt:    e.OccurredAt,
			Data:          string(e.Data),
		}
		if ev.CommandID == "" {
			ev.CommandID = c.CommandID
		}
		if ev.GroupID == "" {
			ev.GroupID = c.GroupID
		}
		if err := Validate(ev); err != nil {
			return nil, fmt.Errorf("event %q: %w", e.ID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// commandSubjectPrefix is roster-groups' subject prefix (groups.SubjectPrefix;
// groups imports this package, not the reverse).
const commandSubjectPrefix = "roster.cmd."

// Reception is what a commit's headers say about the command's reception
// (the event store parses them: eventstore.ReceptionOf). A zero field
// means the header was absent or malformed.
type Reception struct {
	ReceivedAt    time.Time
	PayloadSHA256 string
	PayloadSize   int
	LatencyUS     int64
}

// CommandFromCommit is the accepted commands row of a commit read from
// ROSTER_EVENTS: the commit is the proof the command was accepted, whatever
// the process that appended it did next (docs/adr/0025). Its id is
// "commit:<first event id>", one per commit, so a redelivered commit
// collapses to one row.
//
// rc carries what the commit body lacks about the reception (headers set
// by roster-groups at append). A commit without them (an older writer)
// gets its events' time as reception time and no payload digest. ok is
// false for a commit that names no command (none roster-groups writes): it
// gets its events rows only.
func CommandFromCommit(c events.Commit, rc Reception) (cmd Command, ok bool) {
	if len(c.Events) == 0 || c.Command == "" {
		return Command{}, false
	}
	first := c.Events[0]
	cmd = Command{
		ID: "commit:" + first.ID, CommandID: c.CommandID, Subject: commandSubjectPrefix + c.Command,
		GroupID: c.GroupID, Actor: first.Actor, Outcome: OutcomeAccepted, Version: c.LastVersion(),
		ReceivedAt: first.OccurredAt.UTC(), PayloadHash: rc.PayloadSHA256, PayloadSize: rc.PayloadSize, LatencyUS: rc.LatencyUS,
	}
	if cmd.GroupID == "" {
		cmd.GroupID = first.GroupID
	}
	if !rc.ReceivedAt.IsZero() {
		cmd.ReceivedAt = rc.ReceivedAt.UTC()
	}
	if Validate(cmd) != nil {
		return Command{}, false
	}
	return cmd, true
}
