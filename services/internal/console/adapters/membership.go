package adapters

import (
	"context"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/console/app"
)

// Membership is app.Membership on roster-query (docs/projection.md).
type Membership struct{ Requester }

var _ app.Membership = Membership{}

// Group is roster.query.group.
func (m Membership) Group(ctx context.Context, id string) (app.GroupInfo, error) {
	var r app.GroupInfo
	err := m.request(ctx, "roster.query.group", 0, map[string]string{"group_id": id}, &r)
	return r, err
}

// Members is roster.query.members, at atVersion when it is not 0.
func (m Membership) Members(ctx context.Context, id string, atVersion uint64, cursor string, limit int) (app.MembersPage, error) {
	req := struct {
		GroupID   string `json:"group_id"`
		Limit     int    `json:"limit,omitempty"`
		Cursor    string `json:"cursor,omitempty"`
		AtVersion uint64 `json:"at_version,omitempty"`
	}{id, limit, cursor, atVersion}
	var r app.MembersPage
	err := m.request(ctx, "roster.query.members", 0, req, &r)
	return r, err
}

// Changes is roster.query.changes, paged until limit events or the end.
func (m Membership) Changes(ctx context.Context, id string, since uint64, limit int) ([]events.Event, bool, error) {
	var out []events.Event
	cursor := ""
	for {
		req := struct {
			GroupID      string `json:"group_id"`
			SinceVersion uint64 `json:"since_version"`
			Limit        int    `json:"limit,omitempty"`
			Cursor       string `json:"cursor,omitempty"`
		}{id, since, min(limit-len(out), 1000), cursor}
		var r struct {
			Changes    []events.Event `json:"changes"`
			NextCursor string         `json:"next_cursor,omitempty"`
			More       bool           `json:"more"`
		}
		if err := m.request(ctx, "roster.query.changes", 0, req, &r); err != nil {
			return nil, false, err
		}
		out = append(out, r.Changes...)
		if !r.More || r.NextCursor == "" {
			return out, false, nil
		}
		if len(out) >= limit {
			return out, true, nil
		}
		cursor = r.NextCursor
	}
}
