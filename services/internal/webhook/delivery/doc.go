// Package delivery is the I/O-free core and the HTTP edge of one webhook
// attempt: payload formats (Standard Webhooks and OpenIM after-callbacks),
// signing, the SSRF-safe dialer, the bounded HTTP client, failure classes,
// the retry schedule and endpoint health. It knows nothing about NATS; the
// dispatcher (package webhook) decides what to deliver and when.
package delivery
