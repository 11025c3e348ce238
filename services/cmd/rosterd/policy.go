package main

import (
	"context"

	"github.com/rosterhq/roster/services/internal/policy"
)

// newPolicyService is "rosterd policy": roster-policy, the administration
// of synchronous policy hooks (docs/policy.md). Hook secrets are sealed
// with the webhook secret key (the same --webhook-secret-key-file), which
// roster-groups needs too to call the hooks.
func newPolicyService() service {
	return service{
		name:    "policy",
		records: true,
		short:   "Serve policy hook administration (micro service roster-policy on roster.policy.hook.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			keys, err := e.opts.secretKeys.keyring(e.log)
			if err != nil {
				return nil, err
			}
			svc, err := policy.New(ctx, policy.Config{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "policy").Logger(),
				Audit:      e.audit(),
				AllowCIDRs: e.opts.webhookAllow,
				Replicas:   e.opts.replicas,
				SecretKeys: keys,
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "policy", run: svc.Run, ready: svc.Ready}}, nil
		},
	}
}
