// Package delivery is the I/O-free core of one webhook attempt (domain):
// payload formats (Standard Webhooks and OpenIM after-callbacks), signing,
// URL redaction, failure classes and how a response is judged, the retry
// schedule and endpoint health. It knows nothing about NATS or sockets:
// the HTTP client and its SSRF guard are adapters/httpclient, and the app
// package decides what to deliver and when.
package delivery
