package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Group and member commands: one cobra command per roster.cmd subject.

type cmdFlags struct {
	actor     string
	commandID string
}

// commandSpec describes one command verb: its subject, positional
// arguments and how flags and arguments become the request body.
type commandSpec struct {
	noun, verb, subject string
	use, short          string
	args                cobra.PositionalArgs
	flags               func(c *cobra.Command, body map[string]any)
	fill                func(c *cobra.Command, args []string, body map[string]any) error
}

func addCommandVerbs(root *cobra.Command, g *globals) {
	group := findOrAdd(root, "group", "Create, change and inspect groups")
	member := findOrAdd(root, "member", "Invite, remove and manage group members")
	for _, s := range commandSpecs() {
		parent := group
		if s.noun == "member" {
			parent = member
		}
		parent.AddCommand(newCommandVerb(g, s))
	}
}

func newCommandVerb(g *globals, s commandSpec) *cobra.Command {
	f := &cmdFlags{}
	extra := map[string]any{}
	c := &cobra.Command{
		Use:   s.use,
		Short: s.short + " (" + s.subject + ")",
		Args:  s.args,
		RunE: func(c *cobra.Command, args []string) error {
			if err := needActor(&f.actor); err != nil {
				return err
			}
			body := map[string]any{"group_id": args[0], "actor": f.actor}
			if f.commandID != "" {
				body["command_id"] = f.commandID
			}
			if s.fill != nil {
				if err := s.fill(c, args, body); err != nil {
					return err
				}
			}
			raw, err := g.request(c.Context(), s.subject, body)
			if err != nil {
				return err
			}
			return printCommandReply(g, raw)
		},
	}
	c.Flags().StringVar(&f.actor, "actor", os.Getenv("ROSTER_ACTOR"), "user performing the command ($ROSTER_ACTOR)")
	c.Flags().StringVar(&f.commandID, "command-id", "", "idempotency key: a retry with the same id returns the original outcome")
	if s.flags != nil {
		s.flags(c, extra)
	}
	return c
}

func printCommandReply(g *globals, raw json.RawMessage) error {
	if g.json {
		return g.printRaw(raw)
	}
	var r struct {
		GroupID string `json:"group_id"`
		Version uint64 `json:"version"`
		Events  []struct {
			Type    string          `json:"type"`
			Version uint64          `json:"version"`
			Data    json.RawMessage `json:"data"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("unreadable reply: %w", err)
	}
	fmt.Fprintf(g.out, "group %s is at version %d\n", r.GroupID, r.Version)
	for _, e := range r.Events {
		fmt.Fprintf(g.out, "  v%-6d %-28s %s\n", e.Version, e.Type, e.Data)
	}
	return nil
}

func stringFlag(c *cobra.Command, name string) string {
	v, _ := c.Flags().GetString(name)
	return v
}

// openIMGroupFlags are the OpenIM group fields group create and group
// update take (issue 12).
func openIMGroupFlags(c *cobra.Command) {
	c.Flags().String("face-url", "", "group avatar URL (OpenIM faceURL)")
	c.Flags().String("ex", "", "free extension data (OpenIM ex)")
	c.Flags().String("notification", "", "group notification; Roster records who set it and when")
	c.Flags().Int32("look-member-info", 0, "OpenIM lookMemberInfo: 1 forbids members to view others' info")
	c.Flags().Int32("apply-member-friend", 0, "OpenIM applyMemberFriend: 1 forbids adding members as friends")
}

// fillChanged copies the flags the user gave into the body under their
// fields, so an absent flag stays absent (no change, or the default).
func fillChanged(c *cobra.Command, b map[string]any, fields map[string]string) {
	for flag, field := range fields {
		if !c.Flags().Changed(flag) {
			continue
		}
		if v, err := c.Flags().GetInt32(flag); err == nil {
			b[field] = v
			continue
		}
		b[field] = stringFlag(c, flag)
	}
}

var openIMGroupFields = map[string]string{
	"face-url": "face_url", "ex": "ex", "notification": "notification",
	"look-member-info": "look_member_info", "apply-member-friend": "apply_member_friend",
}

// reasonFlag is member invite's and member remove's --reason.
func reasonFlag(c *cobra.Command, _ map[string]any) {
	c.Flags().String("reason", "", "why (OpenIM's invite or kick reason)")
}

// usersWithReason fills user_ids from the arguments and reason when given.
func usersWithReason(c *cobra.Command, a []string, b map[string]any) error {
	b["user_ids"] = a[1:]
	if v := stringFlag(c, "reason"); v != "" {
		b["reason"] = v
	}
	return nil
}

func commandSpecs() []commandSpec {
	gid := "GROUP_ID"
	return []commandSpec{
		{noun: "group", verb: "create", subject: "roster.cmd.group.create", use: "create " + gid,
			short: "Create a group owned by --actor", args: cobra.ExactArgs(1),
			flags: func(c *cobra.Command, _ map[string]any) {
				c.Flags().String("name", "", "group name (required)")
				c.Flags().String("intro", "", "group introduction")
				c.Flags().String("policy", "approval", "join policy: open, approval, all_approval or invite_only")
				c.Flags().StringSlice("members", nil, "initial members besides the owner (comma-separated user ids)")
				c.Flags().StringSlice("admins", nil, "initial admins (comma-separated user ids, not also in --members)")
				openIMGroupFlags(c)
			},
			fill: func(c *cobra.Command, _ []string, b map[string]any) error {
				b["name"] = stringFlag(c, "name")
				if v := stringFlag(c, "intro"); v != "" {
					b["intro"] = v
				}
				b["join_policy"] = stringFlag(c, "policy")
				if m, _ := c.Flags().GetStringSlice("members"); len(m) > 0 {
					b["members"] = m
				}
				if m, _ := c.Flags().GetStringSlice("admins"); len(m) > 0 {
					b["admins"] = m
				}
				fillChanged(c, b, openIMGroupFields)
				return nil
			}},
		{noun: "group", verb: "update", subject: "roster.cmd.group.update", use: "update " + gid,
			short: "Change a group's name, intro, join policy or OpenIM fields", args: cobra.ExactArgs(1),
			flags: func(c *cobra.Command, _ map[string]any) {
				c.Flags().String("name", "", "new name")
				c.Flags().String("intro", "", "new introduction")
				c.Flags().String("policy", "", "new join policy: open, approval, all_approval or invite_only")
				openIMGroupFlags(c)
			},
			fill: func(c *cobra.Command, _ []string, b map[string]any) error {
				fillChanged(c, b, map[string]string{"name": "name", "intro": "intro", "policy": "join_policy"})
				fillChanged(c, b, openIMGroupFields)
				return nil
			}},
		{noun: "group", verb: "dismiss", subject: "roster.cmd.group.dismiss", use: "dismiss " + gid,
			short: "Dismiss a group for good (owner only)", args: cobra.ExactArgs(1)},
		{noun: "group", verb: "transfer", subject: "roster.cmd.group.transfer", use: "transfer " + gid + " NEW_OWNER",
			short: "Transfer ownership to a member (owner only)", args: cobra.ExactArgs(2),
			fill: func(_ *cobra.Command, a []string, b map[string]any) error { b["new_owner"] = a[1]; return nil }},
		{noun: "group", verb: "mute", subject: "roster.cmd.group.mute", use: "mute " + gid,
			short: "Mute the whole group (owner and admins)", args: cobra.ExactArgs(1)},
		{noun: "group", verb: "unmute", subject: "roster.cmd.group.unmute", use: "unmute " + gid,
			short: "Lift a group mute (owner and admins)", args: cobra.ExactArgs(1)},
		{noun: "member", verb: "invite", subject: "roster.cmd.member.invite", use: "invite " + gid + " USER_ID...",
			short: "Invite users into a group (a member's invitation waits for approval under all_approval)", args: cobra.MinimumNArgs(2),
			flags: reasonFlag, fill: usersWithReason},
		{noun: "member", verb: "join", subject: "roster.cmd.member.join", use: "join " + gid,
			short: "Join a group (or ask to, under the approval and all_approval policies)", args: cobra.ExactArgs(1),
			flags: func(c *cobra.Command, _ map[string]any) {
				c.Flags().String("message", "", "message to the approvers")
				c.Flags().Int32("source", 0, "how the user found the group (OpenIM joinSource): 2 invitation, 3 search (default), 4 QR code")
				c.Flags().String("ex", "", "the application's extension data (OpenIM ex)")
			},
			fill: func(c *cobra.Command, _ []string, b map[string]any) error {
				if v := stringFlag(c, "message"); v != "" {
					b["message"] = v
				}
				fillChanged(c, b, map[string]string{"source": "source", "ex": "ex"})
				return nil
			}},
		{noun: "member", verb: "approve", subject: "roster.cmd.member.approve", use: "approve " + gid + " USER_ID",
			short: "Approve a join request (owner and admins)", args: cobra.ExactArgs(2),
			fill: func(_ *cobra.Command, a []string, b map[string]any) error { b["user_id"] = a[1]; return nil }},
		{noun: "member", verb: "reject", subject: "roster.cmd.member.reject", use: "reject " + gid + " USER_ID",
			short: "Reject a join request (owner and admins)", args: cobra.ExactArgs(2),
			flags: func(c *cobra.Command, _ map[string]any) { c.Flags().String("reason", "", "reason given to the user") },
			fill: func(c *cobra.Command, a []string, b map[string]any) error {
				b["user_id"] = a[1]
				if v := stringFlag(c, "reason"); v != "" {
					b["reason"] = v
				}
				return nil
			}},
		{noun: "member", verb: "remove", subject: "roster.cmd.member.remove", use: "remove " + gid + " USER_ID...",
			short: "Remove members (owner: admins and members; admins: members)", args: cobra.MinimumNArgs(2),
			flags: reasonFlag, fill: usersWithReason},
		{noun: "member", verb: "quit", subject: "roster.cmd.member.quit", use: "quit " + gid,
			short: "Leave a group (--actor leaves)", args: cobra.ExactArgs(1)},
		{noun: "member", verb: "set-role", subject: "roster.cmd.member.set_role", use: "set-role " + gid + " USER_ID admin|member",
			short: "Make a member an admin or back (owner only)", args: cobra.ExactArgs(3),
			fill: func(_ *cobra.Command, a []string, b map[string]any) error {
				b["user_id"], b["role"] = a[1], a[2]
				return nil
			}},
		{noun: "member", verb: "set-info", subject: "roster.cmd.member.set_info", use: "set-info " + gid + " USER_ID",
			short: "Set a member's nickname, face URL, ex or role (self; owner: anyone; admins: members)", args: cobra.ExactArgs(2),
			flags: func(c *cobra.Command, _ map[string]any) {
				c.Flags().String("nickname", "", "nickname in the group (empty clears it)")
				c.Flags().String("face-url", "", "avatar URL in the group (OpenIM faceURL)")
				c.Flags().String("ex", "", "free extension data (OpenIM ex)")
				c.Flags().String("role", "", "admin or member (owner only, as set-role)")
			},
			fill: func(c *cobra.Command, a []string, b map[string]any) error {
				fields := map[string]string{"nickname": "nickname", "face-url": "face_url", "ex": "ex", "role": "role"}
				given := false
				for flag := range fields {
					given = given || c.Flags().Changed(flag)
				}
				if !given {
					return fmt.Errorf("give at least one of --nickname, --face-url, --ex, --role")
				}
				b["user_id"] = a[1]
				fillChanged(c, b, fields)
				return nil
			}},
		{noun: "member", verb: "mute", subject: "roster.cmd.member.mute", use: "mute " + gid + " USER_ID",
			short: "Mute a member for --duration", args: cobra.ExactArgs(2),
			flags: func(c *cobra.Command, _ map[string]any) {
				c.Flags().Duration("duration", time.Hour, "how long (max 720h)")
			},
			fill: func(c *cobra.Command, a []string, b map[string]any) error {
				d, _ := c.Flags().GetDuration("duration")
				b["user_id"], b["duration_seconds"] = a[1], int64(d/time.Second)
				return nil
			}},
		{noun: "member", verb: "unmute", subject: "roster.cmd.member.unmute", use: "unmute " + gid + " USER_ID",
			short: "Lift a member's mute", args: cobra.ExactArgs(2),
			fill: func(_ *cobra.Command, a []string, b map[string]any) error { b["user_id"] = a[1]; return nil }},
	}
}
