package webhook_test

import (
	"testing"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// TestTransportFailureIsUnavailable: while the server's JetStream does not
// answer (disabled: its API has no responders, as during a failover) a
// request that must read and write the endpoint store (pause) answers
// "unavailable", which callers retry, not "internal".
func TestTransportFailureIsUnavailable(t *testing.T) {
	h := newHarness(t)
	// Its Run may end while JetStream is off (the endpoint watch closes):
	// under rosterd the supervisor restarts it; here only the reply matters.
	h.startChecked(h.config(nil), false)
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "ep", "url": "https://example.com/hook"}, nil)

	if err := h.srv.NS.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	code := request(t, nc, webhook.SubjectPrefix+"pause", map[string]any{"actor": "ops", "id": "ep"}, nil)
	if code != string(events.CodeUnavailable) {
		t.Fatalf("pause without JetStream: code %q, want %q", code, events.CodeUnavailable)
	}
}
