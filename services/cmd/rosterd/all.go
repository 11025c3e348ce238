package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// newAllCmd is "rosterd all": every service in one process against an
// existing NATS.
func newAllCmd(o *options, svcs []service) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "all",
		Short: "Run every service in one process against an existing NATS (" + strings.Join(serviceNames(svcs), ", ") + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := newProcess(o, "all", svcs)
			if err != nil {
				return err
			}
			p.handleSignals()
			return p.run(cmd.Context())
		},
	}
	o.console.bindListen(cmd.Flags(), "console-listen")
	return cmd
}
