package membership

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the package layout of docs/adr/0063: the use cases know
// no adapter, transport or NATS; adapters and the port do not reach into
// each other or back into the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/membership"
	nats := func(p string) bool { return strings.HasPrefix(p, "github.com/nats-io/") }
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "app", Allowed: func(p string) bool {
			return archtest.Stdlib(p) || strings.HasPrefix(p, mod+"events") || p == "github.com/jonboulle/clockwork" ||
				strings.HasPrefix(p, "github.com/rs/zerolog")
		}, Rule: "the use cases import the domain and libraries, never an adapter, a port or NATS"},
		{Dir: "adapters/kvmodel", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && !strings.HasPrefix(p, self+"/adapters/") && p != self
		}, Rule: "the KV adapter knows nothing of the other adapters, the port or the wiring"},
		{Dir: "adapters/jsevents", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && !strings.HasPrefix(p, self+"/adapters/") && p != self
		}, Rule: "the stream adapter knows nothing of the other adapters, the port or the wiring"},
		{Dir: "adapters/memmodel", Allowed: func(p string) bool {
			return archtest.Stdlib(p) || p == self+"/app" || strings.HasPrefix(p, mod+"events")
		},
			Rule: "the in-memory adapter is the app's ports and the domain only"},
		{Dir: "ports", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/adapters/") && p != self && !strings.Contains(p, "jetstream")
		}, Rule: "roster-query calls the use cases only: no adapter, no JetStream, no wiring"},
		{Dir: "readmodeltest", Allowed: func(p string) bool { return !nats(p) && !strings.HasPrefix(p, self+"/adapters/") },
			Rule: "the contract is written against the port alone"},
	})
}
