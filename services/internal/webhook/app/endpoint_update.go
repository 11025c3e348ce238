package app

import (
	"context"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// UpdateEndpoint handles roster.webhook.endpoint.update: only the given
// fields change, and the endpoint must stay valid.
func (a *App) UpdateEndpoint(ctx context.Context, r UpdateRequest) (EndpointReply, error) {
	now := a.now().UTC()
	ep, rev, changed, err := a.cfg.Endpoints.Update(ctx, r.ID, func(e *endpoint.Endpoint) error {
		set(&e.URL, r.URL)
		set(&e.Description, r.Description)
		set(&e.EventTypes, r.EventTypes)
		set(&e.GroupIDs, r.GroupIDs)
		set(&e.Format, r.Format)
		set(&e.Timeout, r.Timeout)
		set(&e.RateLimit, r.RateLimit)
		set(&e.RetrySchedule, r.RetrySchedule)
		set(&e.Ordered, r.Ordered)
		e.UpdatedAt = now
		if err := e.Validate(); err != nil {
			return invalid(err)
		}
		return nil
	})
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	if changed {
		a.recordChange(ep, "updated", r.Actor, false, "", a.now())
		_ = a.cfg.View.WaitRevision(ctx, rev)
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
