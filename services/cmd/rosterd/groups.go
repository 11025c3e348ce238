package main

import (
	"context"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
)

func init() {
	register(service{
		name:  "groups",
		short: "Serve group commands (micro service roster-groups on roster.cmd.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			svc, err := groups.New(ctx, groups.Config{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "groups").Logger(),
				Audit:  e.audit(),
				Stream: eventstore.StreamConfig{Replicas: e.opts.replicas},
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "groups", run: svc.Run, ready: svc.Ready}}, nil
		},
	})
}
