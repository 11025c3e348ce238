package app

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/events"
)

// MembersRequest is the body of roster.query.members.
type MembersRequest struct {
	GroupID    string      `json:"group_id"`
	Role       events.Role `json:"role,omitempty"`
	Limit      int         `json:"limit,omitempty"`
	Cursor     string      `json:"cursor,omitempty"`
	MinVersion uint64      `json:"min_version,omitempty"`
	AtVersion  uint64      `json:"at_version,omitempty"`
}

// MembersReply is a page of members. NextCursor is empty on the last page.
type MembersReply struct {
	GroupID    string   `json:"group_id"`
	Version    uint64   `json:"version"`
	AtVersion  uint64   `json:"at_version,omitempty"`
	Members    []Member `json:"members"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Members answers roster.query.members: a page of a group's members from
// the read model, or, with at_version, as they were at that version (folded
// from the event stream).
func (q *Queries) Members(ctx context.Context, r *MembersRequest) (MembersReply, error) {
	var errs []error
	if err := events.ValidateID("group_id", r.GroupID); err != nil {
		errs = append(errs, err)
	}
	if r.Role != "" && !r.Role.Valid() {
		errs = append(errs, events.Errorf(events.CodeInvalidArgument, "role: %q is not owner, admin or member", r.Role))
	}
	limit, err := pageLimit(r.Limit)
	if err != nil {
		errs = append(errs, err)
	}
	var after uint64
	if r.AtVersion > 0 {
		if r.Cursor != "" && !strings.HasPrefix(r.Cursor, "u") {
			errs = append(errs, errNotCursor(r.Cursor))
		}
	} else if after, err = seqCursor("s", r.Cursor); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return MembersReply{}, errs[0]
	}
	ctx, done, err := q.admit(ctx)
	if err != nil {
		return MembersReply{}, err
	}
	defer done()
	m, err := q.model()
	if err != nil {
		return MembersReply{}, err
	}
	info, err := q.groupInfo(ctx, m, r.GroupID, r.MinVersion)
	if err != nil {
		return MembersReply{}, err
	}
	if r.AtVersion > 0 {
		return q.membersAt(ctx, info, r, limit)
	}
	out := MembersReply{GroupID: r.GroupID, Version: info.Version, Members: []Member{}}
	next, more, err := m.Members(ctx, r.GroupID, after, limit, func(mb Member) bool {
		if r.Role != "" && mb.Role != r.Role {
			return false
		}
		out.Members = append(out.Members, mb)
		return true
	})
	if err != nil {
		return MembersReply{}, err
	}
	if more {
		out.NextCursor = "s" + strconv.FormatUint(next, 10)
	}
	return out, nil
}

// membersAt lists the members at r.AtVersion, sorted by user, from the
// group's history.
func (q *Queries) membersAt(ctx context.Context, info GroupInfo, r *MembersRequest, limit int) (MembersReply, error) {
	after := strings.TrimPrefix(r.Cursor, "u")
	s, err := StateAt(ctx, q.cfg.History, r.GroupID, r.AtVersion, info.FirstSeq)
	if err != nil {
		return MembersReply{}, err
	}
	ids := make([]string, 0, len(s.Members))
	for u, mb := range s.Members {
		if u > after && (r.Role == "" || mb.Role == r.Role) {
			ids = append(ids, u)
		}
	}
	sort.Strings(ids)
	out := MembersReply{GroupID: r.GroupID, Version: info.Version, AtVersion: r.AtVersion, Members: []Member{}}
	for i, u := range ids {
		if i == limit {
			out.NextCursor = "u" + ids[i-1]
			break
		}
		out.Members = append(out.Members, MemberFromState(r.GroupID, u, s.Members[u]))
	}
	return out, nil
}
