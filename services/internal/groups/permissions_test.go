package groups_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// deploy/permissions.conf confines event appends to Roster's services: an
// application user may send commands but cannot write roster.events.>.
func TestDeployPermissionsConfineAppends(t *testing.T) {
	t.Setenv("ROSTER_SERVICE_PASSWORD", "svc-secret")
	t.Setenv("ROSTER_CLIENT_PASSWORD", "app-secret")
	t.Setenv("ROSTER_OPERATOR_PASSWORD", "op-secret")
	opts, err := server.ProcessConfigFile(filepath.Join("..", "..", "..", "deploy", "permissions.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.NoSigs = "127.0.0.1", -1, true
	opts.JetStream, opts.StoreDir = true, t.TempDir()
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)

	svcConn, err := nats.Connect(ns.ClientURL(), nats.UserInfo("rosterd", "svc-secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svcConn.Close)
	js, _ := jetstream.New(svcConn)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: svcConn, JS: js, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	violations := make(chan error, 10)
	app, err := nats.Connect(ns.ClientURL(), nats.UserInfo("app", "app-secret"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	var r reply
	natstest.Eventually(t, 5*time.Second, func() error {
		msg, err := app.Request("roster.cmd.group.create", []byte(`{"group_id":"A","actor":"o","name":"A"}`), time.Second)
		if err != nil {
			return err
		}
		r = reply{raw: msg.Data}
		return nil
	})
	if !strings.Contains(string(r.raw), `"version":1`) {
		t.Fatalf("create through the client account: %s", r.raw)
	}
	// A forged event straight onto the group's subject is refused by the server.
	if err := app.Publish("roster.events.A", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	_ = app.Flush()
	select {
	case err := <-violations:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("want a permissions violation, have %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("forged publish was not refused")
	}
	// And the client cannot reach the JetStream API to purge or read around it.
	if _, err := app.Request("$JS.API.STREAM.INFO.ROSTER_EVENTS", nil, time.Second); err == nil {
		t.Fatal("client reached the JetStream API")
	}
	s, err := js.Stream(context.Background(), "ROSTER_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("want only the create commit, have %d messages", info.State.Msgs)
	}
}
