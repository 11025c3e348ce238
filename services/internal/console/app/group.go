package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rosterhq/roster/events"
)

// GroupPage is the group page: the group, its members now or at a past
// version, its changes and its whole history from the audit trail.
type GroupPage struct {
	Info GroupInfo
	// AtVersion is the version the members are shown at (Info.Version
	// when the page asked for none).
	AtVersion  uint64
	Members    []Member
	NextCursor string
	// Changes are the group's events in version order (at most
	// MaxChanges; ChangesMore says there are more).
	Changes      []events.Event
	ChangesMore  bool
	Timeline     []TimelineEntry
	TimelinePg   int
	TimelineMore bool
	TrailErr     error
}

// MaxChanges bounds the changes the group page lists.
const MaxChanges = 1000

// TimelineEntry is one line of a group's history: a command, an event, a
// delivery attempt or (with the policy hooks) a policy decision.
type TimelineEntry struct {
	At      time.Time
	Kind    string // command | event | delivery | policy
	Title   string
	Detail  string
	Outcome string // accepted, rejected, succeeded, invalid_response ...
	OK      bool
	// EndpointID links a delivery to its endpoint page.
	EndpointID string
}

// Group reads group id's page. atVersion 0 shows the current members;
// cursor pages them; timelinePage pages the history (newest first).
func (a *App) Group(ctx context.Context, id string, atVersion uint64, cursor string, timelinePage int) (GroupPage, error) {
	info, err := a.Membership.Group(ctx, id)
	if err != nil {
		return GroupPage{}, err
	}
	p := GroupPage{Info: info, AtVersion: info.Version, TimelinePg: max(timelinePage, 1)}
	var at uint64
	if atVersion > 0 && atVersion < info.Version {
		at, p.AtVersion = atVersion, atVersion
	}
	mp, err := a.Membership.Members(ctx, id, at, cursor, PageSize)
	if err != nil {
		return GroupPage{}, err
	}
	p.Members, p.NextCursor = mp.Members, mp.NextCursor
	// Live pages come in order of last change (ADR 0030), past versions
	// by user id: show every page by user id.
	slices.SortFunc(p.Members, func(x, y Member) int { return cmp.Compare(x.UserID, y.UserID) })
	if p.Changes, p.ChangesMore, err = a.Membership.Changes(ctx, id, 0, MaxChanges); err != nil {
		return GroupPage{}, err
	}
	tl, err := a.timeline(ctx, id)
	if err != nil {
		p.TrailErr = err
	}
	p.Timeline, p.TimelineMore = Page(tl, p.TimelinePg)
	return p, nil
}

// timeline merges the group's commands, events, deliveries and policy
// decisions from the audit trail, newest first.
func (a *App) timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	f := Filter{GroupID: id, Limit: TrailCap}
	cmds, err := a.Trail.Commands(ctx, f)
	if err != nil {
		return nil, err
	}
	evs, err := a.Trail.Events(ctx, f)
	if err != nil {
		return nil, err
	}
	dels, err := a.Trail.Deliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	var tl []TimelineEntry
	for _, c := range cmds {
		e := TimelineEntry{At: c.ReceivedAt, Kind: "command", Title: c.Subject, Outcome: c.Outcome, OK: c.Outcome == "accepted" || c.Outcome == "duplicate"}
		e.Detail = "by " + c.Actor
		if c.Version > 0 {
			e.Detail += fmt.Sprintf(", version %d", c.Version)
		}
		if c.ErrorCode != "" {
			e.Detail += ": " + c.ErrorCode + ": " + c.ErrorMsg
		}
		tl = append(tl, e)
	}
	for _, ev := range evs {
		tl = append(tl, TimelineEntry{At: ev.OccurredAt, Kind: "event", Title: ev.Type, OK: true, Outcome: fmt.Sprintf("v%d", ev.Version),
			Detail: "by " + ev.Actor + ": " + ev.Data})
	}
	for _, d := range dels {
		e := TimelineEntry{At: d.StartedAt, Kind: "delivery", Title: d.EventType + " to " + d.EndpointID, OK: d.Success, EndpointID: d.EndpointID,
			Detail: fmt.Sprintf("attempt %d (%s), status %d, %s", d.Attempt, d.Trigger, d.ResponseStatus, time.Duration(d.LatencyUS)*time.Microsecond)}
		e.Outcome = d.State
		if !d.Success {
			e.Outcome = d.FailureClass
		}
		tl = append(tl, e)
	}
	decisions, err := a.Trail.PolicyDecisions(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, d := range decisions {
		e := TimelineEntry{At: d.DecidedAt, Kind: "policy", Title: "hook " + d.HookID + " on " + d.Command, Outcome: d.Outcome,
			OK:     d.Outcome == "allowed" || d.Outcome == "overridden",
			Detail: fmt.Sprintf("for %s, %.2f ms, status %d", d.Actor, d.LatencyMS, d.ResponseStatus)}
		if d.FailureClass != "" {
			e.Outcome += " (" + d.FailureClass + ")"
		}
		if d.Message != "" {
			e.Detail += ": " + d.Message
		}
		tl = append(tl, e)
	}
	slices.SortStableFunc(tl, func(x, y TimelineEntry) int { return cmp.Compare(y.At.UnixNano(), x.At.UnixNano()) })
	return tl, nil
}
