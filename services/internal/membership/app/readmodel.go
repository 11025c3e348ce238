package app

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/events/group"
)

// ErrNoGeneration means no projector has initialised the read model yet.
var ErrNoGeneration = errors.New("the membership projection has no active generation yet (is the projector running?)")

// ModelReader is what the queries read from one generation of the read
// model. Safe for concurrent use.
type ModelReader interface {
	// Generation is the generation number this model holds.
	Generation() uint64
	// GroupInfo returns a group's info record and its revision (the value
	// WriteInfos expects next); an error with events.CodeNotFound when the
	// group has none.
	GroupInfo(ctx context.Context, groupID string) (GroupInfo, uint64, error)
	// Member returns one member record; events.CodeNotFound when the user
	// is not a member.
	Member(ctx context.Context, groupID, userID string) (Member, error)
	// Members visits the group's member records in the order they were
	// last written, starting after position after (0: the start). It stops
	// once keep has accepted limit records (limit < 0: no limit) and
	// returns the position to resume after and whether records remain.
	// Why write order and not key order: a page then costs limit records
	// however large the group is. A record rewritten while a client pages
	// moves to the end, so it can appear twice but is never skipped.
	Members(ctx context.Context, groupID string, after uint64, limit int, keep func(Member) bool) (next uint64, more bool, err error)
	// UserGroups visits a user's index records as Members does.
	UserGroups(ctx context.Context, userID string, after uint64, limit int, keep func(UserGroup) bool) (next uint64, more bool, err error)
	// WatchInfo registers a wait for groupID's info to reach version min.
	// Once it returns, every later info write at or past min is delivered
	// on Reached (at most one value), so a read made after WatchInfo cannot
	// miss an update. Stop must be called when the wait ends.
	WatchInfo(groupID string, min uint64) (InfoWatch, error)
}

// InfoWatch is one registered min_version wait.
type InfoWatch interface {
	Reached() <-chan GroupInfo
	Stop()
}

// ModelWriter is what the projector needs of one generation: read a group
// back when it is not in memory, and write what a batch changed in the
// order that makes a crash harmless (members first, the info record last,
// as the commit point). Used by one goroutine.
type ModelWriter interface {
	GroupInfo(ctx context.Context, groupID string) (GroupInfo, uint64, error)
	Members(ctx context.Context, groupID string, after uint64, limit int, keep func(Member) bool) (next uint64, more bool, err error)
	// WriteMembers stores the member and user-index records of every
	// touched user of each write (deleting those no longer members) and
	// returns once all are stored.
	WriteMembers(ctx context.Context, ws []*GroupWrite) error
	// WriteInfos stores each write's info record with a compare-and-set on
	// InfoRev, setting InfoRev to the new revision; a write that lost the
	// race (another projector, a stale cache) fails the call.
	WriteInfos(ctx context.Context, ws []*GroupWrite) error
}

// ReadModel is one generation of the membership read model: what the
// projector writes and the queries read. readmodeltest.Run is its
// contract.
type ReadModel interface {
	ModelReader
	ModelWriter
}

// GroupWrite is what a batch changed in one group.
type GroupWrite struct {
	// State is the group after the batch.
	State *group.State
	// Touched are the users whose records to rewrite (a member of State)
	// or delete (not a member any more).
	Touched map[string]bool
	// AppliedSeq and FirstSeq go into the info record.
	AppliedSeq, FirstSeq uint64
	// InfoRev is the revision of the info record the write expects (0:
	// none yet); WriteInfos sets it to the new one.
	InfoRev uint64
}

// Info is the info record the write stores.
func (w *GroupWrite) Info() GroupInfo { return InfoFromState(w.State, w.AppliedSeq, w.FirstSeq) }

// Models gives the generation the queries answer from.
type Models interface {
	// Active returns the active generation; nil when there is none yet.
	Active() ModelReader
}
