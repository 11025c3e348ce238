package adapters

import (
	"context"
	"time"

	"github.com/rosterhq/roster/services/internal/console/app"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// The subjects of roster-webhooks (docs/webhooks.md).
const (
	webhookPrefix    = "roster.webhook.endpoint."
	webhookRedeliver = "roster.webhook.redeliver"
)

// Webhooks is app.Webhooks on roster-webhooks.
type Webhooks struct{ Requester }

var _ app.Webhooks = Webhooks{}

type endpointReply struct {
	Endpoint endpoint.Endpoint `json:"endpoint"`
	Secret   string            `json:"secret,omitempty"`
}

// List is roster.webhook.endpoint.list.
func (w Webhooks) List(ctx context.Context) ([]endpoint.Endpoint, error) {
	var r struct {
		Endpoints []endpoint.Endpoint `json:"endpoints"`
	}
	err := w.request(ctx, webhookPrefix+"list", 0, struct{}{}, &r)
	return r.Endpoints, err
}

// Get is roster.webhook.endpoint.get.
func (w Webhooks) Get(ctx context.Context, id string) (endpoint.Endpoint, error) {
	var r endpointReply
	err := w.request(ctx, webhookPrefix+"get", 0, map[string]string{"id": id}, &r)
	return r.Endpoint, err
}

// Create is roster.webhook.endpoint.create; the service makes the secret.
func (w Webhooks) Create(ctx context.Context, actor string, e app.NewEndpoint) (endpoint.Endpoint, string, error) {
	req := struct {
		Actor       string   `json:"actor"`
		ID          string   `json:"id,omitempty"`
		URL         string   `json:"url"`
		Description string   `json:"description,omitempty"`
		EventTypes  []string `json:"event_types,omitempty"`
		GroupIDs    []string `json:"group_ids,omitempty"`
		Format      string   `json:"format,omitempty"`
		Ordered     bool     `json:"ordered,omitempty"`
	}{actor, e.ID, e.URL, e.Description, e.EventTypes, e.GroupIDs, e.Format, e.Ordered}
	var r endpointReply
	err := w.request(ctx, webhookPrefix+"create", 0, req, &r)
	return r.Endpoint, r.Secret, err
}

type idRequest struct {
	Actor  string `json:"actor"`
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Delete is roster.webhook.endpoint.delete.
func (w Webhooks) Delete(ctx context.Context, actor, id, reason string) error {
	return w.request(ctx, webhookPrefix+"delete", 0, idRequest{actor, id, reason}, nil)
}

// Pause is roster.webhook.endpoint.pause.
func (w Webhooks) Pause(ctx context.Context, actor, id, reason string) error {
	return w.request(ctx, webhookPrefix+"pause", 0, idRequest{actor, id, reason}, nil)
}

// Resume is roster.webhook.endpoint.resume.
func (w Webhooks) Resume(ctx context.Context, actor, id string) error {
	return w.request(ctx, webhookPrefix+"resume", 0, idRequest{Actor: actor, ID: id}, nil)
}

// Test is roster.webhook.endpoint.test: one synchronous attempt.
func (w Webhooks) Test(ctx context.Context, actor, id string) (app.TestResult, error) {
	var r app.TestResult
	err := w.request(ctx, webhookPrefix+"test", TestTimeout, idRequest{Actor: actor, ID: id}, &r)
	return r, err
}

// RotateSecret is roster.webhook.endpoint.rotate_secret with the default
// grace; the service makes the secret.
func (w Webhooks) RotateSecret(ctx context.Context, actor, id string) (string, error) {
	var r endpointReply
	err := w.request(ctx, webhookPrefix+"rotate_secret", 0, idRequest{Actor: actor, ID: id}, &r)
	return r.Secret, err
}

// Redeliver is roster.webhook.redeliver.
func (w Webhooks) Redeliver(ctx context.Context, actor string, rg app.RedeliverRange) (app.RedeliverResult, error) {
	req := struct {
		Actor      string     `json:"actor"`
		EndpointID string     `json:"endpoint_id"`
		Since      *time.Time `json:"since,omitempty"`
		SinceSeq   uint64     `json:"since_seq,omitempty"`
		Until      *time.Time `json:"until,omitempty"`
		UntilSeq   uint64     `json:"until_seq,omitempty"`
	}{Actor: actor, EndpointID: rg.EndpointID, SinceSeq: rg.SinceSeq, UntilSeq: rg.UntilSeq}
	if !rg.Since.IsZero() {
		req.Since = &rg.Since
	}
	if !rg.Until.IsZero() {
		req.Until = &rg.Until
	}
	var r app.RedeliverResult
	err := w.request(ctx, webhookRedeliver, 0, req, &r)
	return r, err
}
