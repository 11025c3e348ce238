package app

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// CreateEndpoint handles roster.webhook.endpoint.create: the endpoint
// receives the events stored from now on; the reply shows its secret, the
// one time it is shown.
func (a *App) CreateEndpoint(ctx context.Context, r CreateRequest) (EndpointReply, error) {
	now := a.now().UTC()
	if r.ID == "" {
		r.ID = "ep_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	format := r.Format
	if format == "" {
		format = endpoint.FormatStandard
	}
	if len(r.EventTypes) == 0 {
		r.EventTypes = []string{"*"}
	}
	secret := r.Secret
	if secret == "" {
		s, err := delivery.GenerateSecret()
		if err != nil {
			return EndpointReply{}, err
		}
		secret = s
	}
	timeout := endpoint.Duration(endpoint.DefaultTimeout)
	if r.Timeout != nil {
		timeout = *r.Timeout
	}
	ep := endpoint.Endpoint{
		ID: r.ID, URL: r.URL, Description: r.Description, EventTypes: r.EventTypes, GroupIDs: r.GroupIDs,
		Format: format, Secrets: []endpoint.Secret{{Value: secret, CreatedAt: now}}, Timeout: timeout,
		RateLimit: r.RateLimit, RetrySchedule: r.RetrySchedule, Ordered: r.Ordered, State: endpoint.StateActive,
		CreatedAt: now, UpdatedAt: now, CreatedBy: r.Actor,
	}
	if r.Paused {
		ep.State, ep.PausedAt, ep.PausedBy, ep.PausedReason = endpoint.StatePaused, &now, r.Actor, "created paused"
	}
	if err := ep.Validate(); err != nil {
		return EndpointReply{}, invalid(err)
	}
	last, err := a.cfg.Events.LastSeq(ctx)
	if err != nil {
		return EndpointReply{}, unavailable(err)
	}
	ep.StartSeq = last
	rev, err := a.cfg.Endpoints.Create(ctx, ep)
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	a.recordChange(ep, "created", r.Actor, false, "", a.now())
	// Read-your-writes: once create replies, this dispatcher's fan-out
	// sees the endpoint.
	_ = a.cfg.View.WaitRevision(ctx, rev)
	return EndpointReply{Endpoint: ep.Redacted(), Secret: secret}, nil
}
