package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/policy"
	policyapp "github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/wait"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// newGroupsService is "rosterd groups": roster-groups, the command side,
// with the policy hooks it asks before deciding (docs/policy.md).
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
			view, checker, err := newPolicyChecker(e)
			if err != nil {
				return nil, err
			}
			svc, err := groups.New(ctx, groups.Config{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "groups").Logger(),
				Audit:   e.audit(),
				Stream:  eventstore.StreamConfig{Replicas: e.opts.replicas},
				Metrics: e.metrics,

				Callers: callers,
				Policy:  checker,
			})
			if err != nil {
				return nil, err
			}
			return []component{
				{name: "policy-view", run: view.Run, ready: view.Ready},
				// No command is served before the hooks are known: a
				// command decided on an empty view would skip its hooks.
				{name: "groups", run: afterReady(e.clock, view.Ready, svc.Run), ready: svc.Ready},
			}, nil
		},
	}
}

// newPolicyChecker builds what roster-groups asks the policy hooks with:
// the view of ROSTER_POLICY_HOOKS (read only) and the checker calling them
// through the webhooks' SSRF guard. Without a secret key, a standard
// hook's secret cannot be opened: its calls fail and its on_failure
// applies, which the log says at start.
func newPolicyChecker(e *env) (*policy.View, *policyapp.Checker, error) {
	keys, err := e.opts.secretKeys.keyring(e.log)
	if errors.Is(err, errNoSecretKey) {
		e.log.Warn().Msg("no webhook secret key (--webhook-secret-key-file): standard policy hooks cannot be signed; their calls fail and on_failure applies")
		keys, err = (*endpoint.Keyring)(nil), nil
	}
	if err != nil {
		return nil, nil, err
	}
	log := e.log.With().Str("component", "policy-check").Logger()
	view := policy.NewView(policy.ViewConfig{JS: e.js, Keys: keys, Log: log})
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: e.opts.webhookAllow})
	if err != nil {
		return nil, nil, fmt.Errorf("--webhook-allow-cidr: %w", err)
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard})
	if err != nil {
		return nil, nil, err
	}
	checker, err := policyapp.NewChecker(policyapp.CheckConfig{
		Hooks: view, Sender: client, Audit: e.audit(), Log: log, Registerer: e.metrics,
	})
	if err != nil {
		return nil, nil, err
	}
	return view, checker, nil
}

// afterReady runs run once ready reports true (polled), or returns nil
// when ctx ends first.
func afterReady(clock clockwork.Clock, ready func() bool, run func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for !ready() {
			if wait.For(ctx, clock, 20*time.Millisecond) != nil {
				return nil
			}
		}
		return run(ctx)
	}
}
