package app

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// CommandRecord remembers where an accepted command's commit landed, so a
// retry with the same command_id returns the original outcome.
type CommandRecord struct {
	Seq         uint64 `json:"seq"`
	LastVersion uint64 `json:"last_version"`
}

// Aggregate is a group's state plus what the command side needs beyond the
// domain: the stream sequence of its last commit (the OCC token) and the
// command ids it has accepted (the idempotency index). It is guarded by the
// group's lock in the Repository; snapshots
// are its gob encoding (adapters), so its fields are exported.
type Aggregate struct {
	State *group.State `json:"state"`
	// Seq is the stream sequence of the group's last commit (0: none).
	Seq uint64 `json:"seq"`
	// Commands maps command_id to its commit; Order keeps insertion order
	// so the index can be bounded to the most recent maxCommands.
	Commands map[string]CommandRecord `json:"commands"`
	Order    []string                 `json:"order"`
	// SnapshotVersion is the version of the last snapshot written or read.
	SnapshotVersion uint64 `json:"snapshot_version"`
}

// NewAggregate is the aggregate of a group with no commit yet.
func NewAggregate(id string) *Aggregate {
	return &Aggregate{State: group.New(id), Commands: map[string]CommandRecord{}}
}

// apply folds a stored commit into the aggregate.
func (a *Aggregate) apply(seq uint64, c events.Commit, maxCommands int) error {
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
func (a *Aggregate) applyOwn(seq uint64, c events.Commit, changes []group.Change, maxCommands int) error {
	for i, e := range c.Events {
		if _, err := a.State.ApplyDecoded(e, changes[i].Data); err != nil {
			return fmt.Errorf("commit at %d: %w", seq, err)
		}
	}
	a.record(seq, c, maxCommands)
	return nil
}

// Clone returns a deep copy that shares nothing mutable with a.
func (a *Aggregate) Clone() *Aggregate {
	return &Aggregate{
		State: cloneState(a.State), Seq: a.Seq, Commands: maps.Clone(a.Commands), Order: slices.Clone(a.Order),
		SnapshotVersion: a.SnapshotVersion,
	}
}

// cloneState returns a deep copy of s.
func cloneState(s *group.State) *group.State {
	st := *s
	st.Members = make(map[string]*group.Member, len(s.Members))
	for u, m := range s.Members {
		cp := *m
		st.Members[u] = &cp
	}
	st.Pending = maps.Clone(s.Pending)
	return &st
}

// record moves the OCC token and indexes the command for idempotency.
func (a *Aggregate) record(seq uint64, c events.Commit, maxCommands int) {
	a.Seq = seq
	if c.CommandID != "" && !c.GeneratedCommandID {
		if _, seen := a.Commands[c.CommandID]; !seen {
			a.Order = append(a.Order, c.CommandID)
		}
		a.Commands[c.CommandID] = CommandRecord{Seq: seq, LastVersion: c.LastVersion()}
		for maxCommands > 0 && len(a.Order) > maxCommands {
			delete(a.Commands, a.Order[0])
			a.Order = a.Order[1:]
		}
	}
}
