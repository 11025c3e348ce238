package groups_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the layout of docs/adr/0060: the use case imports no
// NATS, adapter or port; the port calls the app, never an adapter; the
// adapters do not reach into the port or the wiring.
func TestLayers(t *testing.T) {
	const self = "github.com/rosterhq/roster/services/internal/groups"
	nats := func(p string) bool { return strings.HasPrefix(p, "github.com/nats-io/") }
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "app", Allowed: func(p string) bool {
			return !nats(p) && !strings.HasPrefix(p, self+"/adapters") && !strings.HasPrefix(p, self+"/ports") && p != self
		}, Rule: "the use case imports no NATS package, adapter, port or the wiring"},
		{Dir: "ports", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/adapters") && p != self && !strings.Contains(p, "jetstream") &&
				!strings.HasSuffix(p, "/eventstore")
		}, Rule: "roster-groups calls the use case only: no adapter, no JetStream, no wiring"},
		{Dir: "adapters", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self
		}, Rule: "the adapters know nothing of the port or the wiring"},
	})
}
