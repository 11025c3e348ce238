package webhook_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the layout of docs/adr/0067: the domain (endpoint,
// delivery) imports only the standard library (net/http for its header
// and status vocabulary; the client is adapters/httpclient), events and
// the OpenIM wire vocabulary (services/internal/openim, itself pure) and
// the hand-written JSON writers (services/internal/jsonx: the standard
// library and events only; the event and body encoders, ADR 0115);
// the use cases import no NATS, adapter or port; the port calls the app
// only; adapters do not reach into each other, the port or the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/webhook"
	nats := func(p string) bool { return strings.HasPrefix(p, "github.com/nats-io/") }
	pure := func(p string) bool {
		return archtest.Stdlib(p) || strings.HasPrefix(p, mod+"events") || p == mod+"services/internal/openim" ||
			p == mod+"services/internal/jsonx" ||
			strings.HasPrefix(p, self+"/delivery") || strings.HasPrefix(p, self+"/endpoint")
	}
	adapter := func(dir string) archtest.Layer {
		return archtest.Layer{Dir: dir, Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self &&
				(!strings.HasPrefix(p, self+"/adapters/") || p == self+"/"+dir)
		}, Rule: "an adapter knows nothing of the other adapters, the port or the wiring"}
	}
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "endpoint", Allowed: pure, Rule: "the endpoint rules are pure"},
		{Dir: "delivery", Allowed: pure, Rule: "the delivery rules are pure"},
		{Dir: "app", Allowed: func(p string) bool {
			return !nats(p) && !strings.HasPrefix(p, self+"/adapters") &&
				!strings.HasPrefix(p, self+"/ports") && p != self
		}, Rule: "the use cases import no NATS, no adapter, port or wiring"},
		{Dir: "ports", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/adapters") && p != self && !strings.Contains(p, "jetstream")
		}, Rule: "roster-webhooks calls the use cases only: no adapter, no JetStream, no wiring"},
		adapter("adapters/endpointkv"), adapter("adapters/endpointmem"), adapter("adapters/httpclient"), adapter("adapters/jsqueue"),
	})
}
