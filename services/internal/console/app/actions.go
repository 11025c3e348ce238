package app

import (
	"context"
	"strings"
)

// The actions: each is the request the roster CLI sends for it, made as
// the operator (Actor), so the service performing it checks and audits it
// as it would the CLI's.

// Actor is the audited actor of an operator: "console-<name>".
func Actor(operator string) string { return "console-" + operator }

// Pause pauses an endpoint.
func (a *App) Pause(ctx context.Context, operator, id, reason string) error {
	return a.Webhooks.Pause(ctx, Actor(operator), id, strings.TrimSpace(reason))
}

// Resume resumes an endpoint; its held backlog is delivered.
func (a *App) Resume(ctx context.Context, operator, id string) error {
	return a.Webhooks.Resume(ctx, Actor(operator), id)
}

// Test sends one test event to an endpoint and returns the attempt.
func (a *App) Test(ctx context.Context, operator, id string) (TestResult, error) {
	return a.Webhooks.Test(ctx, Actor(operator), id)
}

// Redeliver enqueues a range of stored events again for an endpoint.
func (a *App) Redeliver(ctx context.Context, operator string, r RedeliverRange) (RedeliverResult, error) {
	if r.Since.IsZero() && r.SinceSeq == 0 {
		return RedeliverResult{}, &InputError{Field: "since", Message: "give a start time or a start sequence"}
	}
	if !r.Since.IsZero() && r.SinceSeq != 0 {
		return RedeliverResult{}, &InputError{Field: "since", Message: "give a start time or a start sequence, not both"}
	}
	return a.Webhooks.Redeliver(ctx, Actor(operator), r)
}

// RotateSecret gives an endpoint a new signing secret and returns it (the
// only time it is shown).
func (a *App) RotateSecret(ctx context.Context, operator, id string) (string, error) {
	return a.Webhooks.RotateSecret(ctx, Actor(operator), id)
}

// CreateEndpoint registers an endpoint and returns its id and its secret
// (the only time it is shown).
func (a *App) CreateEndpoint(ctx context.Context, operator string, e NewEndpoint) (string, string, error) {
	if strings.TrimSpace(e.URL) == "" {
		return "", "", &InputError{Field: "url", Message: "required"}
	}
	ep, secret, err := a.Webhooks.Create(ctx, Actor(operator), e)
	return ep.ID, secret, err
}

// DeleteEndpoint deletes an endpoint; its queued deliveries are dropped.
func (a *App) DeleteEndpoint(ctx context.Context, operator, id, reason string) error {
	return a.Webhooks.Delete(ctx, Actor(operator), id, strings.TrimSpace(reason))
}
