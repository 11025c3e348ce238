package adapters

import (
	"context"

	"github.com/rosterhq/roster/services/internal/console/app"
)

// policyPrefix is roster-policy's subjects (docs/policy.md).
const policyPrefix = "roster.policy.hook."

// Policy is app.Policy on roster-policy.
type Policy struct{ Requester }

var _ app.Policy = Policy{}

// Hooks is roster.policy.hook.list.
func (p Policy) Hooks(ctx context.Context) ([]app.PolicyHook, error) {
	var r struct {
		Hooks []app.PolicyHook `json:"hooks"`
	}
	err := p.request(ctx, policyPrefix+"list", 0, struct{}{}, &r)
	return r.Hooks, err
}

// CreateHook is roster.policy.hook.create; a standard hook's secret is
// made by the service.
func (p Policy) CreateHook(ctx context.Context, actor string, h app.NewHook) (app.PolicyHook, string, error) {
	req := struct {
		Actor     string `json:"actor"`
		ID        string `json:"id,omitempty"`
		Command   string `json:"command"`
		URL       string `json:"url"`
		Format    string `json:"format"`
		Timeout   string `json:"timeout,omitempty"`
		OnFailure string `json:"on_failure"`
	}{actor, h.ID, h.Command, h.URL, h.Format, h.Timeout, h.OnFailure}
	var r struct {
		Hook   app.PolicyHook `json:"hook"`
		Secret string         `json:"secret,omitempty"`
	}
	err := p.request(ctx, policyPrefix+"create", 0, req, &r)
	return r.Hook, r.Secret, err
}

// DeleteHook is roster.policy.hook.delete.
func (p Policy) DeleteHook(ctx context.Context, actor, id string) error {
	return p.request(ctx, policyPrefix+"delete", 0, map[string]string{"actor": actor, "id": id}, nil)
}
