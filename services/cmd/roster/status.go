package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/policy"
)

// roster status: is every service answering, and how far behind the event
// stream is the membership projection.

// statusReport is what `roster status --json` prints.
type statusReport struct {
	Services   map[string]string  `json:"services"`
	Projection *membership.Status `json:"projection,omitempty"`
	Error      string             `json:"projection_error,omitempty"`
}

// statusServices are the micro services status pings, in its order.
var statusServices = []string{"roster-groups", membership.ServiceName, "roster-webhooks", policy.ServiceName}

func newStatus(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show which services answer and the projection's lag (stream sequence vs applied sequence)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			nc, err := g.conn()
			if err != nil {
				return err
			}
			rep := statusReport{Services: map[string]string{}}
			for _, name := range statusServices {
				rep.Services[name] = ping(nc, name)
			}
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			st, err := membership.ReadStatus(c.Context(), js)
			if err != nil {
				rep.Error = err.Error()
			} else {
				rep.Projection = &st
			}
			if g.json {
				return g.printJSON(rep)
			}
			for _, name := range statusServices {
				fmt.Fprintf(g.out, "%-16s %s\n", name, rep.Services[name])
			}
			if rep.Projection == nil {
				fmt.Fprintf(g.out, "projection       unknown: %s\n", rep.Error)
				return nil
			}
			fmt.Fprintf(g.out, "projection       generation %d (%s)\n", st.Generation.Number, st.Generation.Bucket)
			fmt.Fprintf(g.out, "  stream seq     %d\n  applied seq    %d\n  lag            %d commits", st.StreamLastSeq, st.AppliedSeq, st.Lag)
			if st.Unacknowledged > 0 {
				fmt.Fprintf(g.out, " (%d in flight)", st.Unacknowledged)
			}
			fmt.Fprintln(g.out)
			if r := st.Rebuilding; r != nil {
				fmt.Fprintf(g.out, "  rebuilding     generation %d on %s since %s, at seq %d\n", r.Generation, r.Host, r.StartedAt, r.AppliedSeq)
			}
			return nil
		},
	}
}

// ping asks a micro service whether any instance answers.
func ping(nc *nats.Conn, name string) string {
	_, err := nc.Request("$SRV.PING."+name, nil, 500*time.Millisecond)
	switch {
	case err == nil:
		return "up"
	case errors.Is(err, nats.ErrNoResponders):
		return "down (no instance)"
	default:
		return "not answering: " + err.Error()
	}
}
