package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// DefaultRotationGrace is how long a rotated-out secret keeps signing.
const DefaultRotationGrace = 24 * time.Hour

// RotateSecret handles roster.webhook.endpoint.rotate_secret: the new
// secret signs from now on, the previous ones as well until the grace
// period ends; the reply shows the new secret once.
func (a *App) RotateSecret(ctx context.Context, r RotateRequest) (EndpointReply, error) {
	var errs []error
	grace := DefaultRotationGrace
	if r.Grace != nil {
		grace = time.Duration(*r.Grace)
		if grace < 0 || grace > 30*24*time.Hour {
			errs = append(errs, errors.New("grace: must be in [0s, 720h]"))
		}
	}
	if r.Secret == "" {
		s, err := delivery.GenerateSecret()
		if err != nil {
			return EndpointReply{}, err
		}
		r.Secret = s
	} else if _, err := delivery.ParseSecret(r.Secret); err != nil {
		errs = append(errs, fmt.Errorf("secret: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return EndpointReply{}, invalid(err)
	}
	now := a.now().UTC()
	ep, rev, _, err := a.cfg.Endpoints.Update(ctx, r.ID, func(e *endpoint.Endpoint) error {
		expires := now.Add(grace)
		kept := []endpoint.Secret{{Value: r.Secret, CreatedAt: now}}
		for _, s := range e.Secrets {
			if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
				continue // already retired
			}
			if s.ExpiresAt == nil || s.ExpiresAt.After(expires) {
				s.ExpiresAt = &expires
			}
			if grace > 0 {
				kept = append(kept, s)
			}
		}
		e.Secrets, e.UpdatedAt = kept, now
		return nil
	})
	if err != nil {
		return EndpointReply{}, storeErr(err)
	}
	a.recordChange(ep, "secret_rotated", r.Actor, false, "", a.now())
	_ = a.cfg.View.WaitRevision(ctx, rev)
	return EndpointReply{Endpoint: ep.Redacted(), Secret: r.Secret}, nil
}
