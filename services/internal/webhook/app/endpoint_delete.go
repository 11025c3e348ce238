package app

import "context"

// DeleteEndpoint handles roster.webhook.endpoint.delete; its queued jobs
// go with it (the workers drop the endpoint's queue once the view no
// longer holds it).
func (a *App) DeleteEndpoint(ctx context.Context, r IDRequest) (EndpointReply, error) {
	ep, err := a.cfg.Endpoints.Delete(ctx, r.ID)
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	a.recordChange(ep, "deleted", r.Actor, false, r.Reason, a.now())
	_ = a.cfg.View.WaitGone(ctx, r.ID)
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}
