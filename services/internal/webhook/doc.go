// Package webhook is Roster's webhook dispatcher: it delivers every event
// in ROSTER_EVENTS to every matching endpoint, at least once, with a
// stable idempotency key, and records every attempt. Group commands never
// wait on it.
//
// Data flow (docs/webhooks.md, docs/adr/0010..0019, 0066):
//
//	ROSTER_EVENTS ──(pinned pull consumer "roster_webhook_fanout", batches)──▶
//	  one job per (event, matching endpoint) ──▶ ROSTER_WEBHOOK_DELIVERIES
//	  (work queue, subject roster.webhook.delivery.<endpoint_id>.<group_id>)
//	  ──(one durable pull consumer per endpoint)──▶ HTTP attempt
//
// Attempt state (attempt number, next attempt, terminal outcome) lives in
// the KV bucket ROSTER_WEBHOOK_JOBS, endpoints in ROSTER_WEBHOOK_ENDPOINTS;
// nothing a delivery depends on lives only in memory.
//
// Where things are (docs/adr/0067):
//
//	endpoint/            domain: an endpoint's rules, sealing its secrets
//	delivery/            domain: one attempt without I/O (formats, signing,
//	                     judging a response, retry schedule, health)
//	app/                 one file per use case: endpoint_<verb>.go,
//	                     redeliver.go, fanout.go (a commit into jobs),
//	                     deliver.go (one job), retry.go (what a failed
//	                     attempt does next); ports.go: the interfaces the
//	                     use cases own
//	adapters/endpointkv  the NATS KV endpoint store (sealed secrets), the
//	                     watch-fed view
//	adapters/endpointmem the in-memory endpoint store (use-case tests)
//	adapters/jsqueue     JetStream: job queue and per-endpoint workers,
//	                     attempt state, the fan-out consumer, poison stream
//	adapters/httpclient  the HTTP client and its SSRF guard
//	ports/               roster-webhooks on natsx/edge
//	endpointtest/        the endpoint store contract (Run)
//
// This package is the wiring: Config, New (adapters and use cases), Run
// (the actors: endpoint watch, workers, fan-out, service, depth sampler).
package webhook
