package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership"
)

// roster events replay: the event stream as JSON lines, to feed other
// systems.
func newEventsCmd(g *globals) *cobra.Command {
	ev := &cobra.Command{Use: "events", Short: "Read the event stream"}
	ev.AddCommand(newEventsReplay(g))
	return ev
}

func newEventsReplay(g *globals) *cobra.Command {
	var (
		o     membership.ReplayOptions
		since string
	)
	c := &cobra.Command{
		Use:   "replay",
		Short: "Print events as JSON lines (upcast to the current schema): one group or all, from a sequence, version or time",
		Long: `Print events of ROSTER_EVENTS as JSON lines, one event envelope per line, upcast
to the current schema version. Select one group with --group (default: all),
and a start with at most one of --from-seq (stream sequence), --from-version
(group version, needs --group) or --since (RFC 3339 time). Without --follow it
stops after the last event stored when it started; with --follow it keeps
printing new events until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z: %w", since, err)
				}
				o.Since = t
			}
			if err := o.Validate(); err != nil {
				return err
			}
			nc, err := g.conn()
			if err != nil {
				return err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.out)
			return membership.Replay(c.Context(), js, o, func(_ uint64, e events.Event) error {
				return enc.Encode(e)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&o.GroupID, "group", "", "only this group's events")
	f.Uint64Var(&o.FromSeq, "from-seq", 0, "start at this stream sequence")
	f.Uint64Var(&o.FromVersion, "from-version", 0, "start at this group version (needs --group)")
	f.StringVar(&since, "since", "", "start at events that occurred at or after this RFC 3339 time")
	f.BoolVar(&o.Follow, "follow", false, "keep printing new events until interrupted")
	return c
}
