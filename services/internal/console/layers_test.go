package console_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/archtest"
)

// TestLayers holds the console's layout (docs/adr/0096): the use cases
// import no NATS, ClickHouse, HTTP or adapter; the web port calls the app
// only; the adapters know nothing of the port or the wiring.
func TestLayers(t *testing.T) {
	const self = "github.com/rosterhq/roster/services/internal/console"
	io := func(p string) bool {
		return strings.HasPrefix(p, "github.com/nats-io/") || strings.Contains(p, "clickhouse") || p == "net/http"
	}
	archtest.CheckLayers(t, []archtest.Layer{
		{Dir: "app", Allowed: func(p string) bool {
			return !io(p) && !strings.HasPrefix(p, self+"/adapters") && !strings.HasPrefix(p, self+"/ports") && p != self &&
				!strings.HasPrefix(p, "github.com/rosterhq/roster/services/internal/webhook/app")
		}, Rule: "the use cases import no NATS, ClickHouse, HTTP, adapter, port or wiring"},
		{Dir: "ports/web", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, "github.com/nats-io/") && !strings.HasPrefix(p, self+"/adapters") && p != self
		}, Rule: "the web port calls the use cases only: no NATS, no adapter, no wiring"},
		{Dir: "adapters", Allowed: func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self
		}, Rule: "the adapters know nothing of the port or the wiring"},
	})
}
