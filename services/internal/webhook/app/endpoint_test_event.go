package app

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// TestEndpoint handles roster.webhook.endpoint.test: one synchronous
// attempt of a synthetic "webhook.test" event, recorded in the audit trail
// but not counted toward the endpoint's health.
func (a *App) TestEndpoint(ctx context.Context, r IDRequest) (TestReply, error) {
	ep, _, err := a.cfg.Endpoints.Get(ctx, r.ID)
	if err != nil {
		return TestReply{}, storeErr(err)
	}
	ev := events.Event{
		ID: uuid.NewString(), Type: "webhook.test", SchemaVersion: 1, OccurredAt: a.now().UTC(),
		Actor: r.Actor, Data: json.RawMessage(`{"message":"Roster webhook test"}`),
	}
	o := a.send(ctx, ep, nil, ev)
	state := StateExhausted
	if o.verdict.Success {
		state = StateSucceeded
	}
	if err := a.record(ctx, ep, ev, attemptRecord{id: uuid.NewString(), attempt: 1, trigger: TriggerTest, state: state}, o); err != nil {
		a.log.Warn().Err(err).Str("endpoint_id", ep.ID).Msg("recording test attempt")
	}
	body := o.resp.Body
	if len(body) > 1024 {
		body = body[:1024]
	}
	return TestReply{
		Success: o.verdict.Success, Status: o.resp.Status, FailureClass: string(o.verdict.Class),
		FailureMsg: o.verdict.Message, LatencyMS: o.resp.Latency.Milliseconds(),
		WebhookID: delivery.MessageID(ep.ID, ev.ID), ResponseBody: string(body),
	}, nil
}
