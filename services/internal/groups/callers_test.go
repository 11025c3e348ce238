package groups_test

import (
	"context"
	"encoding/json"
	"os"
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

// callersConfig is a server with Roster's account and four caller
// accounts importing roster.cmd.>: a trusted backend, a bound account, a
// bound account whose import does not share identities, and one the
// policy does not list.
const callersConfig = `
listen: 127.0.0.1:-1
jetstream { store_dir: %q }
accounts {
  ROSTER {
    jetstream: enabled
    users = [{user: svc, password: svc}]
    exports = [{service: "roster.cmd.>"}]
  }
  BACKEND {
    users = [{user: backend, password: backend}]
    imports = [{service: {account: ROSTER, subject: "roster.cmd.>"}, share: true}]
  }
  PEOPLE {
    users = [{user: alice, password: alice}, {user: bob, password: bob}]
    imports = [{service: {account: ROSTER, subject: "roster.cmd.>"}, share: true}]
  }
  UNSHARED {
    users = [{user: carol, password: carol}]
    imports = [{service: {account: ROSTER, subject: "roster.cmd.>"}}]
  }
  STRANGER {
    users = [{user: eve, password: eve}]
    imports = [{service: {account: ROSTER, subject: "roster.cmd.>"}, share: true}]
  }
}
`

type callerReply struct {
	Version uint64 `json:"version"`
	Error   struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Actors are bound to the callers NATS attests through share: true
// imports; a trusted account acts for anyone; everyone else is refused
// with a message naming both identities.
func TestCallersBoundToNatsRequestInfo(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "server.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(callersConfig, "%q", `"`+filepath.Join(dir, "js")+`"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)
	conn := func(user string) *nats.Conn {
		nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo(user, user))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}

	svcConn := conn("svc")
	js, _ := jetstream.New(svcConn)
	policy, err := groups.ParseCallers("BACKEND=trusted,PEOPLE=bound,UNSHARED=bound", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: svcConn, JS: js, Log: zerolog.Nop(), Callers: policy})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	send := func(nc *nats.Conn, cmd, body string, hdr nats.Header) callerReply {
		t.Helper()
		var r callerReply
		natstest.Eventually(t, 5*time.Second, func() error {
			m := nats.NewMsg("roster.cmd." + cmd)
			m.Data, m.Header = []byte(body), hdr
			msg, err := nc.RequestMsg(m, time.Second)
			if err != nil {
				return err
			}
			r = callerReply{}
			return json.Unmarshal(msg.Data, &r)
		})
		return r
	}
	forbidden := func(r callerReply, want ...string) {
		t.Helper()
		if r.Error.Code != "forbidden" {
			t.Fatalf("want forbidden, have %+v", r)
		}
		for _, w := range want {
			if !strings.Contains(r.Error.Message, w) {
				t.Fatalf("message %q lacks %q", r.Error.Message, w)
			}
		}
	}

	// A trusted backend acts for any of its users.
	if r := send(conn("backend"), "group.create", `{"group_id":"T","actor":"anyone","name":"T"}`, nil); r.Error.Code != "" {
		t.Fatalf("trusted backend: %+v", r.Error)
	}
	// A bound user acts as itself...
	alice, bob := conn("alice"), conn("bob")
	if r := send(alice, "group.create", `{"group_id":"A","actor":"alice","name":"A"}`, nil); r.Error.Code != "" {
		t.Fatalf("alice as alice: %+v", r.Error)
	}
	// ...and not as the group's owner, even with a forged header: the
	// server replaces Nats-Request-Info on the way through the import.
	update := `{"group_id":"A","actor":"alice","name":"stolen"}`
	forbidden(send(bob, "group.update", update, nil), `actor "alice"`, `account PEOPLE user "bob"`)
	forged := nats.Header{}
	forged.Set(groups.RequestInfoHeader, `{"acc":"PEOPLE","user":"alice"}`)
	forbidden(send(bob, "group.update", update, forged), `user "bob"`)
	// Bound without share: true, NATS attests no user.
	forbidden(send(conn("carol"), "group.create", `{"group_id":"C","actor":"carol","name":"C"}`, nil), "share: true")
	// An account the policy does not list may not send commands.
	forbidden(send(conn("eve"), "group.create", `{"group_id":"E","actor":"eve","name":"E"}`, nil), "account STRANGER")
	// Inside Roster's account no identity is attested: refused unless the
	// policy trusts unattested requests.
	forbidden(send(svcConn, "group.create", `{"group_id":"S","actor":"svc","name":"S"}`, nil), "no caller identity")

	// Only the two admitted creates reached the log.
	s, err := js.Stream(context.Background(), "ROSTER_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("want 2 commits, have %d", info.State.Msgs)
	}
}
