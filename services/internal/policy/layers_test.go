package policy_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the layout of docs/adr/0087: the hook domain imports
// only the standard library; the stored form adds the webhook keyring
// only; the use cases import no NATS, adapter or port; the port calls the
// app only; adapters do not reach into each other, the port or the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/policy"
	nats := func(p string) bool { return strings.HasPrefix(p, "github.com/nats-io/") }
	adapter := func(dir string) archtest.Layer {
		return archtest.Layer{Dir: dir, Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self &&
				(!strings.HasPrefix(p, self+"/adapters/") || p == self+"/"+dir)
		}, Rule: "an adapter knows nothing of the other adapters, the port or the wiring"}
	}
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "hook", Allowed: archtest.Stdlib, Rule: "the hook rules are pure"},
		{Dir: "hookrec", Allowed: func(p string) bool {
			return archtest.Stdlib(p) || p == self+"/hook" || p == mod+"services/internal/webhook/endpoint"
		}, Rule: "the stored form knows the hook and the keyring only"},
		{Dir: "app", Allowed: func(p string) bool {
			return !nats(p) && !strings.HasPrefix(p, self+"/adapters") && !strings.HasPrefix(p, self+"/ports") && p != self
		}, Rule: "the use cases import no NATS, no adapter, port or wiring"},
		{Dir: "ports", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/adapters") && p != self && !strings.Contains(p, "jetstream")
		}, Rule: "roster-policy calls the use cases only: no adapter, no JetStream, no wiring"},
		adapter("adapters/hookkv"), adapter("adapters/hookmem"), adapter("adapters/urlguard"),
	})
}
