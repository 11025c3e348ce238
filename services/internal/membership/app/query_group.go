package app

import (
	"context"

	"github.com/rosterhq/roster/events"
)

// GroupRequest is the body of roster.query.group.
type GroupRequest struct {
	GroupID    string `json:"group_id"`
	MinVersion uint64 `json:"min_version,omitempty"`
}

// Group answers roster.query.group: a group's info, once it has reached
// min_version.
func (q *Queries) Group(ctx context.Context, r *GroupRequest) (GroupInfo, error) {
	if err := events.ValidateID("group_id", r.GroupID); err != nil {
		return GroupInfo{}, err
	}
	ctx, done, err := q.admit(ctx)
	if err != nil {
		return GroupInfo{}, err
	}
	defer done()
	m, err := q.model()
	if err != nil {
		return GroupInfo{}, err
	}
	return q.groupInfo(ctx, m, r.GroupID, r.MinVersion)
}
