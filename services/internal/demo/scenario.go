package demo

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// Play plays the seed scenario through nc on the running stack and prints
// what happened from the audit tables. Every step that waits is bounded by
// Config.Step; a step that does not happen ends the demo with an error
// naming it. Ending ctx (with a cause: the stack's error) ends it too.
func (s *Scenario) Play(ctx context.Context, nc *nats.Conn) error {
	rv, groupID, endpointID := s.rv, s.groupID, s.endpointID
	s.printf("Roster demo: the OpenIM seed scenario, told by the audit trail\n")
	s.printf("  receiver  %s/callback answers %s until it is fixed\n", rv.URL(), BadBody)
	s.printf("  endpoint  %s (openim, ordered; paused after %d failed attempts in a row)\n", endpointID, PauseAfter)
	s.printf("  group     %s, owner o; audit trail in ClickHouse database %s\n\n", groupID, s.reader.DB)

	if err := s.wait(ctx, "services answer", func() error {
		for _, svc := range []string{groups.ServiceName, webhook.ServiceName} {
			if _, err := nc.Request("$SRV.PING."+svc, nil, time.Second); err != nil {
				return fmt.Errorf("%s: %w", svc, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}

	if err := request(ctx, nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": actor, "id": endpointID, "url": rv.URL() + "/callback", "format": "openim", "ordered": true,
		"group_ids": []string{groupID}, "retry_schedule": retrySchedule, "timeout": "5s",
		// OpenIM 3.8 sends no after-callback for an invite: an openim
		// endpoint gets Roster's extension only when it names the type.
		"event_types": []string{"*", "member.invited"},
		"description": "rosterd dev --demo: a receiver that answers like OpenIM issue #3230",
	}, nil); err != nil {
		return fmt.Errorf("demo: register the endpoint: %w", err)
	}
	s.printf("1. Endpoint registered on %screate\n\n", webhook.SubjectPrefix)

	if err := s.playCommands(ctx, nc); err != nil {
		return err
	}

	s.printf("\n3. The receiver answers %s: waiting for the automatic pause\n", BadBody)
	var paused webhook.EndpointReply
	if err := s.wait(ctx, "the endpoint is paused automatically", func() error {
		if err := request(ctx, nc, webhook.SubjectPrefix+"get", map[string]any{"id": endpointID}, &paused); err != nil {
			return err
		}
		if !paused.Endpoint.Paused() {
			return fmt.Errorf("endpoint %s is %s after %d invalid responses", endpointID, paused.Endpoint.State, rv.BadCount())
		}
		return nil
	}); err != nil {
		return err
	}
	s.printf("   paused by %s: %s\n", paused.Endpoint.PausedBy, paused.Endpoint.PausedReason)

	rv.Fix()
	if err := request(ctx, nc, webhook.SubjectPrefix+"resume", map[string]any{"actor": actor, "id": endpointID}, nil); err != nil {
		return fmt.Errorf("demo: resume: %w", err)
	}
	s.printf("\n4. Receiver fixed; endpoint resumed on %sresume: waiting for the four deliveries\n", webhook.SubjectPrefix)
	if err := s.wait(ctx, "the receiver gets all four events", func() error {
		if n := rv.GoodCount(); n != 4 {
			return fmt.Errorf("the receiver acknowledged %d of 4 events", n)
		}
		return nil
	}); err != nil {
		return err
	}
	s.printf("   the receiver acknowledged 4 events\n")

	s.printf("\n5. Waiting for the audit rows in ClickHouse\n")
	var t trail
	bad := rv.BadCount()
	if err := s.wait(ctx, "the audit rows arrive", func() error {
		var err error
		if t, err = readTrail(ctx, s.reader, groupID, endpointID); err != nil {
			return err
		}
		return t.complete(bad)
	}); err != nil {
		return err
	}
	t.print(s.cfg.Out, s.reader.DB)
	return s.cleanUp(ctx, nc)
}

// playCommands sends the seed scenario's four commands: every one is
// answered at once, whatever the receiver does.
func (s *Scenario) playCommands(ctx context.Context, nc *nats.Conn) error {
	s.printf("2. The seed scenario, through roster.cmd.*: every command is answered at once\n")
	tw := tabwriter.NewWriter(s.cfg.Out, 0, 0, 2, ' ', 0)
	for _, c := range []struct{ subject, user string }{
		{"group.create", ""}, {"member.invite", "a"}, {"member.remove", "a"}, {"member.invite", "a"},
	} {
		req := map[string]any{"group_id": s.groupID, "actor": "o"}
		what := "group " + s.groupID + " owner o"
		if c.user == "" {
			req["name"] = "Group A"
		} else {
			req["user_ids"] = []string{c.user}
			what = c.user
		}
		var reply groups.Reply
		start := time.Now()
		if err := request(ctx, nc, "roster.cmd."+c.subject, req, &reply); err != nil {
			return fmt.Errorf("demo: %s: %w", c.subject, err)
		}
		fmt.Fprintf(tw, "   roster.cmd.%s\t%s\taccepted, version %d\t%s\n", c.subject, what, reply.Version, roundDur(time.Since(start)))
	}
	return tw.Flush()
}

// cleanUp deletes the demo's endpoint: the receiver stops with the demo,
// and an endpoint left pointing at it would fail (and pause) again on the
// next event of the group.
func (s *Scenario) cleanUp(ctx context.Context, nc *nats.Conn) error {
	if err := request(ctx, nc, webhook.SubjectPrefix+"delete", map[string]any{"actor": actor, "id": s.endpointID, "reason": "demo finished"}, nil); err != nil {
		return fmt.Errorf("demo: delete the endpoint: %w", err)
	}
	// Wait for that row too: the sink stops with the demo, and a record
	// left in ROSTER_AUDIT would reach ClickHouse only on the next start.
	if err := s.wait(ctx, "the endpoint's deletion reaches the audit trail", func() error {
		ch, err := s.reader.EndpointChanges(ctx, audit.Filter{EndpointID: s.endpointID, Status: "deleted"})
		if err == nil && len(ch) != 1 {
			err = fmt.Errorf("%d deletion rows", len(ch))
		}
		return err
	}); err != nil {
		return err
	}
	s.printf("\nThe demo endpoint is deleted (its receiver stops now). Read the trail again with:\n")
	s.printf("  roster audit commands --group %s\n  roster audit deliveries --endpoint %s\n  roster audit endpoints --endpoint %s\n", s.groupID, s.endpointID, s.endpointID)
	return nil
}
