package app

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// PauseEndpoint handles roster.webhook.endpoint.pause: deliveries are held
// (kept queued, not attempted) until the endpoint is resumed.
func (a *App) PauseEndpoint(ctx context.Context, r IDRequest) (EndpointReply, error) {
	ep, _, err := a.setPaused(ctx, r.ID, true, r.Actor, false, r.Reason)
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

// ResumeEndpoint handles roster.webhook.endpoint.resume: the held jobs are
// delivered, with trigger "resume".
func (a *App) ResumeEndpoint(ctx context.Context, r IDRequest) (EndpointReply, error) {
	ep, _, err := a.setPaused(ctx, r.ID, false, r.Actor, false, r.Reason)
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

// autoPause pauses an endpoint for the health policy; only the dispatcher
// that changes the state alerts, so a burst of failures alerts once.
func (a *App) autoPause(ctx context.Context, id, reason string) error {
	ep, changed, err := a.setPaused(ctx, id, true, "system", true, reason)
	if err != nil || !changed {
		return err
	}
	a.cfg.Metrics.Paused.WithLabelValues(id).Inc()
	pausedAt := a.now().UTC()
	if ep.PausedAt != nil {
		pausedAt = *ep.PausedAt
	}
	al := Alert{EndpointID: id, URL: delivery.RedactURL(ep.URL), Reason: reason, PausedAt: pausedAt}
	a.log.Warn().Str("endpoint_id", id).Str("url", al.URL).Str("reason", reason).
		Msg("webhook endpoint paused automatically; deliveries are held until it is resumed")
	if err := a.cfg.Alerts.EndpointPaused(ctx, al); err != nil {
		return fmt.Errorf("alert: %w", err)
	}
	return nil
}

// setPaused pauses or resumes an endpoint and records the change.
func (a *App) setPaused(ctx context.Context, id string, pause bool, actor string, automatic bool, reason string) (endpoint.Endpoint, bool, error) {
	now := a.now().UTC()
	ep, rev, changed, err := a.cfg.Endpoints.Update(ctx, id, func(e *endpoint.Endpoint) error {
		if e.Paused() == pause {
			return endpoint.ErrNoChange
		}
		e.UpdatedAt = now
		if pause {
			e.State, e.PausedAt, e.PausedReason, e.PausedBy = endpoint.StatePaused, &now, reason, actor
		} else {
			e.State, e.PausedAt, e.PausedReason, e.PausedBy, e.ResumedAt = endpoint.StateActive, nil, "", "", &now
		}
		return nil
	})
	if err != nil || !changed {
		return ep, false, err
	}
	change := "resumed"
	if pause {
		change = "paused"
	}
	// Stamped with the time the change was made, not the time it is
	// recorded, so the trail orders a pause before the resume it caused.
	a.recordChange(ep, change, actor, automatic, reason, now)
	_ = a.cfg.View.WaitRevision(ctx, rev)
	return ep, true, nil
}
