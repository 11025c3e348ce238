package app

import (
	"context"
	"strconv"

	"github.com/rosterhq/roster/events"
)

// UserGroupsRequest is the body of roster.query.user_groups. min_version
// refers to one group's version, so it needs group_id (typically the group
// the client just changed).
type UserGroupsRequest struct {
	UserID     string `json:"user_id"`
	Limit      int    `json:"limit,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
	MinVersion uint64 `json:"min_version,omitempty"`
	GroupID    string `json:"group_id,omitempty"`
}

// UserGroupsReply is a page of a user's groups.
type UserGroupsReply struct {
	UserID     string      `json:"user_id"`
	Groups     []UserGroup `json:"groups"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// UserGroups answers roster.query.user_groups: a page of a user's groups.
func (q *Queries) UserGroups(ctx context.Context, r *UserGroupsRequest) (UserGroupsReply, error) {
	if err := events.ValidateID("user_id", r.UserID); err != nil {
		return UserGroupsReply{}, err
	}
	limit, err := pageLimit(r.Limit)
	if err != nil {
		return UserGroupsReply{}, err
	}
	if r.MinVersion > 0 || r.GroupID != "" {
		if err := events.ValidateID("group_id", r.GroupID); err != nil {
			return UserGroupsReply{}, events.Errorf(events.CodeInvalidArgument, "min_version needs the group_id it refers to: %s", err.(*events.Error).Message)
		}
	}
	after, err := seqCursor("s", r.Cursor)
	if err != nil {
		return UserGroupsReply{}, err
	}
	ctx, done, err := q.admit(ctx)
	if err != nil {
		return UserGroupsReply{}, err
	}
	defer done()
	m, err := q.model()
	if err != nil {
		return UserGroupsReply{}, err
	}
	if r.MinVersion > 0 {
		if _, err := q.groupInfo(ctx, m, r.GroupID, r.MinVersion); err != nil {
			return UserGroupsReply{}, err
		}
	}
	out := UserGroupsReply{UserID: r.UserID, Groups: []UserGroup{}}
	next, more, err := m.UserGroups(ctx, r.UserID, after, limit, func(ug UserGroup) bool {
		out.Groups = append(out.Groups, ug)
		return true
	})
	if err != nil {
		return UserGroupsReply{}, err
	}
	if more {
		out.NextCursor = "s" + strconv.FormatUint(next, 10)
	}
	return out, nil
}
