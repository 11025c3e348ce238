package groups

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// commandRecord remembers where an accepted command's commit landed, so a
// retry with the same command_id returns the original outcome.
type commandRecord struct {
	Seq         uint64 `json:"seq"`
	LastVersion uint64 `json:"last_version"`
}

// aggregate is a group's state plus what the command side needs beyond the
// domain: the stream sequence of its last commit (the OCC token) and the
// command ids it has accepted (the idempotency index). It is guarded by the
// group's lock in the repository.
type aggregate struct {
	State *group.State `json:"state"`
	// Seq is the stream sequence of the group's last commit (0: none).
	Seq uint64 `json:"seq"`
	// Commands maps command_id to its commit; Order keeps insertion order
	// so the index can be bounded to the most recent maxCommands.
	Commands map[string]commandRecord `json:"commands"`
	Order    []string                 `json:"order"`
	// SnapshotVersion is the version of the last snapshot written or read.
	SnapshotVersion uint64 `json:"snapshot_version"`
}

func newAggregate(id string) *aggregate {
	return &aggregate{State: group.New(id), Commands: map[string]commandRecord{}}
}

// apply folds a stored commit into the aggregate.
func (a *aggregate) apply(seq uint64, c events.Commit, maxCommands int) error {
	for _, e := range c.Events {
		if _, err := a.State.Apply(e); err != nil {
			return fmt.Errorf("commit at %d: %w", seq, err)
		}
	}
	a.record(seq, c, maxCommands)
	return nil
}

// applyOwn folds a commit this process just appended, from the typed data
// it was built from (changes[i] made c.Events[i]), without decoding it again.
func (a *aggregate) applyOwn(seq uint64, c events.Commit, changes []group.Change, maxCommands int) error {
	for i, e := range c.Events {
		if _, err := a.State.ApplyDecoded(e, changes[i].Data); err != nil {
			return fmt.Errorf("commit at %d: %w", seq, err)
		}
	}
	a.record(seq, c, maxCommands)
	return nil
}

// clone returns a deep copy that shares nothing mutable with a.
func (a *aggregate) clone() *aggregate {
	st := *a.State
	st.Members = make(map[string]*group.Member, len(a.State.Members))
	for u, m := range a.State.Members {
		cp := *m
		st.Members[u] = &cp
	}
	st.Pending = maps.Clone(a.State.Pending)
	return &aggregate{
		State: &st, Seq: a.Seq, Commands: maps.Clone(a.Commands), Order: slices.Clone(a.Order),
		SnapshotVersion: a.SnapshotVersion,
	}
}

// record moves the OCC token and indexes the command for idempotency.
func (a *aggregate) record(seq uint64, c events.Commit, maxCommands int) {
	a.Seq = seq
	if c.CommandID != "" && !c.GeneratedCommandID {
		if _, seen := a.Commands[c.CommandID]; !seen {
			a.Order = append(a.Order, c.CommandID)
		}
		a.Commands[c.CommandID] = commandRecord{Seq: seq, LastVersion: c.LastVersion()}
		for maxCommands > 0 && len(a.Order) > maxCommands {
			delete(a.Commands, a.Order[0])
			a.Order = a.Order[1:]
		}
	}
}
