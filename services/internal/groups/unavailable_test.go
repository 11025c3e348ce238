package groups_test

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/groups"
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

// A pipelined append that JetStream never stores (its API gone after the
// group was loaded, so the command is decided from the cache and only the
// append fails) answers "unavailable", and releases the group: the next
// command on it is answered too.
func TestPipelinedAppendWithoutJetStreamIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, func(c *groups.Config) { c.RequestTimeout = 3 * time.Second })
	mustOK(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "A"}))
	if err := srv.NS.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"a", "b"} {
		wantCode(t, send(t, srv.NC, "roster.cmd.member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{u}}), "unavailable")
	}
}
