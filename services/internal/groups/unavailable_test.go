package groups_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestCommandWithoutJetStreamIsUnavailable: while the server's JetStream
// does not answer (disabled: its API has no responders, as during a
// failover) a command answers "unavailable", which callers retry, never
// "internal".
func TestCommandWithoutJetStreamIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	mustOK(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "A"}))
	if err := srv.NS.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	// B was never loaded: the command must read ROSTER_EVENTS.
	wantCode(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": "B", "actor": "o", "name": "B"}), "unavailable")
}
