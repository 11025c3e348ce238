package audit

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the package layout of docs/adr/0070: the domain does
// no I/O, the use cases know no adapter, transport or driver, and adapters
// and ports do not reach into each other or back into the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/audit"
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "record", Allowed: func(p string) bool { return archtest.Stdlib(p) || strings.HasPrefix(p, mod+"events") },
			Rule: "the domain imports only the standard library and events"},
		{Dir: "app", Allowed: func(p string) bool {
			return archtest.Stdlib(p) || p == self+"/record" || strings.HasPrefix(p, mod+"events") || p == mod+"services/internal/metrics" || p == mod+"services/internal/wait" ||
				strings.HasPrefix(p, "github.com/cenkalti/backoff/") || p == "github.com/jonboulle/clockwork" ||
				strings.HasPrefix(p, "github.com/prometheus/") || strings.HasPrefix(p, "github.com/rs/zerolog")
		}, Rule: "the use cases import the domain and libraries, never an adapter, NATS or ClickHouse"},
		{Dir: "adapters/clickhouse", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self && !strings.Contains(p, "nats")
		},
			Rule: "the ClickHouse adapter knows nothing of JetStream, the ports or the wiring"},
		{Dir: "adapters/auditstream", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self && !strings.Contains(p, "clickhouse")
		},
			Rule: "the JetStream adapter knows nothing of ClickHouse, the ports or the wiring"},
		{Dir: "adapters/memory", Allowed: func(p string) bool { return archtest.Stdlib(p) || p == self+"/app" || p == self+"/record" },
			Rule: "the in-memory adapter is the app's ports and the domain only"},
		{Dir: "ports/publisher", Allowed: func(p string) bool { return !strings.Contains(p, "clickhouse") && p != self },
			Rule: "the publisher knows nothing of ClickHouse or the wiring"},
	})
}
