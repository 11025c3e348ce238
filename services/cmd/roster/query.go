package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership"
)

// Membership queries (roster-query): group get, member list/get, user
// groups, group changes.

func addQueryVerbs(root *cobra.Command, g *globals) {
	group := findOrAdd(root, "group", "Create, change and inspect groups")
	member := findOrAdd(root, "member", "Invite, remove and manage group members")
	user := findOrAdd(root, "user", "Inspect a user's memberships")
	group.AddCommand(newGroupGet(g), newGroupChanges(g))
	member.AddCommand(newMemberList(g), newMemberGet(g))
	user.AddCommand(newUserGroups(g))
}

func newGroupGet(g *globals) *cobra.Command {
	var minVersion uint64
	c := &cobra.Command{
		Use:   "get GROUP_ID",
		Short: "Show a group: name, owner, policy, member count, version (" + membership.SubjectGroup + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			raw, err := g.request(c.Context(), membership.SubjectGroup, membership.GroupRequest{GroupID: args[0], MinVersion: minVersion})
			if err != nil {
				return err
			}
			if g.json {
				return g.printRaw(raw)
			}
			var r membership.GroupInfo
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("unreadable reply: %w", err)
			}
			state := "active"
			switch {
			case r.Dismissed:
				state = "dismissed"
			case r.Muted:
				state = "muted"
			}
			fmt.Fprintf(g.out, "group %s %q (%s)\n  owner %s, policy %s, %d members, version %d\n  created %s, updated %s\n",
				r.GroupID, r.Name, state, r.Owner, r.JoinPolicy, r.MemberCount, r.Version,
				r.CreatedAt.Format(time.RFC3339), r.UpdatedAt.Format(time.RFC3339))
			if r.Intro != "" {
				fmt.Fprintf(g.out, "  %s\n", r.Intro)
			}
			if r.Notification != "" {
				at := ""
				if r.NotificationUpdatedAt != nil {
					at = " at " + r.NotificationUpdatedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(g.out, "  notification by %s%s: %s\n", r.NotificationUserID, at, r.Notification)
			}
			return nil
		},
	}
	minVersionFlag(c, &minVersion)
	return c
}

func minVersionFlag(c *cobra.Command, v *uint64) {
	c.Flags().Uint64Var(v, "min-version", 0, "wait (bounded) until the projection has reached this group version: read your own write")
}

type pageFlags struct {
	limit  int
	cursor string
	all    bool
}

func (p *pageFlags) bind(c *cobra.Command) {
	c.Flags().IntVar(&p.limit, "limit", 0, fmt.Sprintf("entries per page (default %d, at most %d)", membership.DefaultPageSize, membership.MaxPageSize))
	c.Flags().StringVar(&p.cursor, "cursor", "", "continue after a page (next_cursor of the previous reply)")
	c.Flags().BoolVar(&p.all, "all", false, "follow cursors and print every page")
}

// pages sends a paged query, prints each reply (raw under --json, else with
// show) and follows next's cursor while --all is set; without --all it
// prints next's hint when more pages remain.
func pages[R any](c *cobra.Command, g *globals, p pageFlags, subject string, req func(cursor string) any,
	show func(r *R, first bool), next func(r *R) (cursor, hint string)) error {
	cursor := p.cursor
	for first := true; ; first = false {
		raw, err := g.request(c.Context(), subject, req(cursor))
		if err != nil {
			return err
		}
		var r R
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("unreadable reply: %w", err)
		}
		if g.json {
			if err := g.printRaw(raw); err != nil {
				return err
			}
		} else {
			show(&r, first)
		}
		nextCursor, hint := next(&r)
		if nextCursor == "" {
			return nil
		}
		if !p.all {
			if !g.json {
				fmt.Fprintln(g.out, hint)
			}
			return nil
		}
		cursor = nextCursor
	}
}

func newMemberList(g *globals) *cobra.Command {
	var (
		p          pageFlags
		role       string
		minVersion uint64
		atVersion  uint64
	)
	c := &cobra.Command{
		Use:   "list GROUP_ID",
		Short: "List a group's members, now or as they were at a version (" + membership.SubjectMembers + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req := membership.MembersRequest{GroupID: args[0], Limit: p.limit, MinVersion: minVersion, AtVersion: atVersion}
			req.Role = events.Role(role) // the service validates it
			return pages(c, g, p, membership.SubjectMembers,
				func(cursor string) any { req.Cursor = cursor; return req },
				func(r *membership.MembersReply, first bool) {
					if first {
						at := fmt.Sprintf("version %d", r.Version)
						if r.AtVersion > 0 {
							at = fmt.Sprintf("version %d (now %d)", r.AtVersion, r.Version)
						}
						fmt.Fprintf(g.out, "members of %s at %s\n", r.GroupID, at)
					}
					for _, m := range r.Members {
						printMember(g, m)
					}
				},
				func(r *membership.MembersReply) (string, string) {
					return r.NextCursor, "more: --cursor " + r.NextCursor
				})
		},
	}
	p.bind(c)
	c.Flags().StringVar(&role, "role", "", "only members with this role: owner, admin or member")
	c.Flags().Uint64Var(&atVersion, "at-version", 0, "show the membership as it was at this group version (replayed from the event stream)")
	minVersionFlag(c, &minVersion)
	return c
}

func printMember(g *globals, m membership.Member) {
	extra := []string{"joined " + m.JoinedAt.Format(time.RFC3339), fmt.Sprintf("v%d", m.JoinedVersion)}
	if m.Inviter != "" {
		extra = append(extra, "by "+m.Inviter)
	}
	if m.MutedUntil != nil {
		extra = append(extra, "muted until "+m.MutedUntil.Format(time.RFC3339))
	}
	if m.Nickname != "" {
		extra = append(extra, fmt.Sprintf("nickname %q", m.Nickname))
	}
	fmt.Fprintf(g.out, "  %-24s %-7s %s\n", m.UserID, m.Role, strings.Join(extra, ", "))
}

func newMemberGet(g *globals) *cobra.Command {
	var minVersion uint64
	c := &cobra.Command{
		Use:   "get GROUP_ID USER_ID",
		Short: "Show one member: role, joined-at, inviter, muted-until (" + membership.SubjectMember + ")",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			raw, err := g.request(c.Context(), membership.SubjectMember, membership.MemberRequest{GroupID: args[0], UserID: args[1], MinVersion: minVersion})
			if err != nil {
				return err
			}
			if g.json {
				return g.printRaw(raw)
			}
			var r membership.MemberReply
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("unreadable reply: %w", err)
			}
			fmt.Fprintf(g.out, "member of %s at version %d\n", r.GroupID, r.Version)
			printMember(g, r.Member)
			return nil
		},
	}
	minVersionFlag(c, &minVersion)
	return c
}

func newUserGroups(g *globals) *cobra.Command {
	var (
		p          pageFlags
		minVersion uint64
		groupID    string
	)
	c := &cobra.Command{
		Use:   "groups USER_ID",
		Short: "List the groups a user belongs to (" + membership.SubjectUserGroups + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req := membership.UserGroupsRequest{UserID: args[0], Limit: p.limit, MinVersion: minVersion, GroupID: groupID}
			return pages(c, g, p, membership.SubjectUserGroups,
				func(cursor string) any { req.Cursor = cursor; return req },
				func(r *membership.UserGroupsReply, first bool) {
					if first {
						fmt.Fprintf(g.out, "groups of %s\n", r.UserID)
					}
					for _, ug := range r.Groups {
						fmt.Fprintf(g.out, "  %-24s %-7s joined %s, v%d\n", ug.GroupID, ug.Role, ug.JoinedAt.Format(time.RFC3339), ug.JoinedVersion)
					}
				},
				func(r *membership.UserGroupsReply) (string, string) {
					return r.NextCursor, "more: --cursor " + r.NextCursor
				})
		},
	}
	p.bind(c)
	minVersionFlag(c, &minVersion)
	c.Flags().StringVar(&groupID, "group", "", "the group --min-version refers to")
	return c
}

func newGroupChanges(g *globals) *cobra.Command {
	var (
		p          pageFlags
		since      uint64
		minVersion uint64
	)
	c := &cobra.Command{
		Use:   "changes GROUP_ID",
		Short: "List a group's changes after a version: incremental sync, no cap (" + membership.SubjectChanges + ")",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req := membership.ChangesRequest{GroupID: args[0], SinceVersion: since, Limit: p.limit, MinVersion: minVersion}
			return pages(c, g, p, membership.SubjectChanges,
				func(cursor string) any { req.Cursor = cursor; return req },
				func(r *membership.ChangesReply, _ bool) {
					for _, e := range r.Changes {
						fmt.Fprintf(g.out, "v%-6d %s %-28s by %-12s %s\n", e.Version, e.OccurredAt.Format(time.RFC3339), e.Type, e.Actor, e.Data)
					}
				},
				func(r *membership.ChangesReply) (string, string) {
					if !r.More {
						return "", ""
					}
					return r.NextCursor, fmt.Sprintf("more: --cursor %s (or --since %d)", r.NextCursor, r.NextSinceVersion)
				})
		},
	}
	p.bind(c)
	c.Flags().Uint64Var(&since, "since", 0, "list changes after this group version")
	minVersionFlag(c, &minVersion)
	return c
}
