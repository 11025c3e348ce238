package main

import (
	"context"

	"github.com/rosterhq/roster/services/internal/webhook"
)

// newDispatcherService is "rosterd dispatcher": webhook delivery and
// roster-webhooks.
func newDispatcherService() service {
	return service{
		name:    "dispatcher",
		records: true,
		short:   "Deliver events to webhook endpoints and serve roster-webhooks (roster.webhook.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			keys, err := e.opts.secretKeys.keyring(e.log)
			if err != nil {
				return nil, err
			}
			d, err := webhook.New(ctx, webhook.Config{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "dispatcher").Logger(),
				Audit:      e.audit(),
				AllowCIDRs: e.opts.webhookAllow,
				Health:     e.opts.webhookHealth,
				Replicas:   e.opts.replicas,
				SecretKeys: keys,
				// The process registry (served on /metrics).
				Metrics: e.metrics,
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "dispatcher", run: d.Run, ready: d.Ready}}, nil
		},
	}
}
