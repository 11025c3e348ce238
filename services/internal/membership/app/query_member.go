package app

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/events"
)

// MemberRequest is the body of roster.query.member.
type MemberRequest struct {
	GroupID    string `json:"group_id"`
	UserID     string `json:"user_id"`
	MinVersion uint64 `json:"min_version,omitempty"`
}

// MemberReply is one member and the group version it was read at.
type MemberReply struct {
	Member
	Version uint64 `json:"version"`
}

// Member answers roster.query.member: one member of a group.
func (q *Queries) Member(ctx context.Context, r *MemberRequest) (MemberReply, error) {
	if err := errors.Join(events.ValidateID("group_id", r.GroupID), events.ValidateID("user_id", r.UserID)); err != nil {
		return MemberReply{}, firstErr(err)
	}
	ctx, done, err := q.admit(ctx)
	if err != nil {
		return MemberReply{}, err
	}
	defer done()
	m, err := q.model()
	if err != nil {
		return MemberReply{}, err
	}
	info, err := q.groupInfo(ctx, m, r.GroupID, r.MinVersion)
	if err != nil {
		return MemberReply{}, err
	}
	mb, err := m.Member(ctx, r.GroupID, r.UserID)
	if err != nil {
		return MemberReply{}, err
	}
	return MemberReply{Member: mb, Version: info.Version}, nil
}
