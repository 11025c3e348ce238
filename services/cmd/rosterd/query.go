package main

import (
	"context"

	"github.com/rosterhq/roster/services/internal/membership"
)

// newQueryService is "rosterd query": roster-query, served from the read
// model the projector keeps.
func newQueryService() service {
	return service{
		name:  "query",
		short: "Serve membership queries (micro service roster-query on roster.query.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			// e.metrics is for membership.QueryConfig.Metrics.
			q, err := membership.NewQueries(membership.QueryConfig{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "query").Logger(),
				Store: membership.StoreConfig{Replicas: e.opts.replicas},
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "query", run: q.Run, ready: q.Ready}}, nil
		},
	}
}
