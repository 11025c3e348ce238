package app

import (
	"context"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// ListEndpoints handles roster.webhook.endpoint.list (secret values
// removed), sorted by id.
func (a *App) ListEndpoints(ctx context.Context) (ListReply, error) {
	eps, err := a.cfg.Endpoints.List(ctx)
	if err != nil {
		return ListReply{}, storeErr(err)
	}
	out := ListReply{Endpoints: make([]endpoint.Endpoint, 0, len(eps))}
	for _, ep := range eps {
		out.Endpoints = append(out.Endpoints, ep.Redacted())
	}
	return out, nil
}
