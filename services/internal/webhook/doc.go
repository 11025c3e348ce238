// Package webhook is Roster's webhook dispatcher: it delivers every event
// in ROSTER_EVENTS to every matching endpoint, at least once, with a
// stable idempotency key, and records every attempt. Group commands never
// wait on it.
//
// Data flow (docs/webhooks.md, docs/adr/0010..0019):
//
//	ROSTER_EVENTS ──(durable "roster_webhook_fanout", Watermill router)──▶
//	  one job per (event, matching endpoint) ──▶ ROSTER_WEBHOOK_DELIVERIES
//	  (work queue, subject roster.webhook.delivery.<endpoint_id>.<group_id>)
//	  ──(one durable pull consumer per endpoint, nats.go)──▶ HTTP attempt
//
// Attempt state (attempt number, next attempt, terminal outcome) lives in
// the KV bucket ROSTER_WEBHOOK_JOBS, endpoints in ROSTER_WEBHOOK_ENDPOINTS;
// nothing a delivery depends on lives only in memory.
package webhook
