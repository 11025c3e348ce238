package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/events"
)

// ChangesRequest is the body of roster.query.changes.
type ChangesRequest struct {
	GroupID      string `json:"group_id"`
	SinceVersion uint64 `json:"since_version"`
	Limit        int    `json:"limit,omitempty"`
	Cursor       string `json:"cursor,omitempty"`
	MinVersion   uint64 `json:"min_version,omitempty"`
}

// ChangesReply is a page of a group's events after a version, upcast to
// the current schema. A client applies them in order and asks again with
// next_cursor (or since_version = next_since_version) until more is false.
type ChangesReply struct {
	GroupID          string         `json:"group_id"`
	SinceVersion     uint64         `json:"since_version"`
	Changes          []events.Event `json:"changes"`
	NextSinceVersion uint64         `json:"next_since_version"`
	NextCursor       string         `json:"next_cursor,omitempty"`
	More             bool           `json:"more"`
}

// Changes answers roster.query.changes (incremental sync): a group's events
// after a version, read from the event stream.
func (q *Queries) Changes(ctx context.Context, r *ChangesRequest) (ChangesReply, error) {
	if err := events.ValidateID("group_id", r.GroupID); err != nil {
		return ChangesReply{}, err
	}
	limit, err := pageLimit(r.Limit)
	if err != nil {
		return ChangesReply{}, err
	}
	since, from := r.SinceVersion, uint64(0)
	if r.Cursor != "" {
		s, v, ok := strings.Cut(strings.TrimPrefix(r.Cursor, "c"), ".")
		seq, err1 := strconv.ParseUint(s, 10, 64)
		ver, err2 := strconv.ParseUint(v, 10, 64)
		if !strings.HasPrefix(r.Cursor, "c") || !ok || err1 != nil || err2 != nil {
			return ChangesReply{}, errNotCursor(r.Cursor)
		}
		since, from = ver, seq
	}
	ctx, done, err := q.admit(ctx)
	if err != nil {
		return ChangesReply{}, err
	}
	defer done()
	if r.MinVersion > 0 {
		m, err := q.model()
		if err != nil {
			return ChangesReply{}, err
		}
		if _, err := q.groupInfo(ctx, m, r.GroupID, r.MinVersion); err != nil {
			return ChangesReply{}, err
		}
	}
	if m := q.cfg.Models.Active(); m != nil && from == 0 {
		// The model knows where the group's history starts; without it the
		// scan starts at the stream's first commit, which is only slower.
		if info, _, err := m.GroupInfo(ctx, r.GroupID); err == nil {
			from = info.FirstSeq
		}
	}
	evs, nextSeq, nextSince, more, err := Changes(ctx, q.cfg.History, r.GroupID, since, from, limit)
	if err != nil {
		return ChangesReply{}, err
	}
	out := ChangesReply{GroupID: r.GroupID, SinceVersion: since, Changes: evs, NextSinceVersion: nextSince, More: more}
	if out.Changes == nil {
		out.Changes = []events.Event{}
	}
	if more {
		out.NextCursor = fmt.Sprintf("c%d.%d", nextSeq, nextSince)
	}
	return out, nil
}
