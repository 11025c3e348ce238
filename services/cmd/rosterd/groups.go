package main

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
)

// newGroupsService is "rosterd groups": roster-groups, the command side.
func newGroupsService() service {
	return service{
		name:    "groups",
		records: true,
		short:   "Serve group commands (micro service roster-groups on roster.cmd.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			var callers *groups.Callers
			if !e.dev {
				c, err := groups.ParseCallers(e.opts.callers, e.opts.trustUnattested)
				if err != nil {
					return nil, fmt.Errorf("--callers: %w", err)
				}
				callers = c
				if len(c.Accounts) == 0 && !c.TrustUnattested {
					e.log.Warn().Msg("no caller may send commands: give --callers (deploy/accounts.conf accounts) or --trust-unattested")
				}
				e.log.Info().Str("callers", c.String()).Bool("trust_unattested", c.TrustUnattested).Msg("caller policy")
			}
			svc, err := groups.New(ctx, groups.Config{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "groups").Logger(),
				Audit:   e.audit(),
				Stream:  eventstore.StreamConfig{Replicas: e.opts.replicas},
				Metrics: e.metrics,

				Callers: callers,
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "groups", run: svc.Run, ready: svc.Ready}}, nil
		},
	}
}
