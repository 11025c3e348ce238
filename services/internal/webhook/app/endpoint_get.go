package app

import "context"

// GetEndpoint handles roster.webhook.endpoint.get (secret values removed).
func (a *App) GetEndpoint(ctx context.Context, r IDRequest) (EndpointReply, error) {
	ep, _, err := a.cfg.Endpoints.Get(ctx, r.ID)
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}
