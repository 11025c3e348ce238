package groups_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// jwtWorld is an operator-mode server (decentralised JWT auth, as nsc sets
// up): account ROSTER exports roster.cmd.>, account APP imports it with
// share: true, and APP's users carry tags.
type jwtWorld struct {
	t         *testing.T
	ns        *server.Server
	accs      map[string]nkeys.KeyPair
	operator  nkeys.KeyPair
	rosterPub string
}

// must is for set-up steps that fail only in a broken environment; the
// panic fails the test with its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func startJWTWorld(t *testing.T) *jwtWorld {
	w := &jwtWorld{t: t, accs: map[string]nkeys.KeyPair{}, operator: must(nkeys.CreateOperator())}
	resolver := &server.MemAccResolver{}
	sign := func(name string, build func(*jwt.AccountClaims)) string {
		kp := must(nkeys.CreateAccount())
		w.accs[name] = kp
		pub := must(kp.PublicKey())
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		build(ac)
		tok := must(ac.Encode(w.operator))
		if err := resolver.Store(pub, tok); err != nil {
			t.Fatal(err)
		}
		return pub
	}
	sysPub := sign("SYS", func(*jwt.AccountClaims) {})
	w.rosterPub = sign("ROSTER", func(ac *jwt.AccountClaims) {
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		ac.Exports.Add(&jwt.Export{Type: jwt.Service, Subject: "roster.cmd.>"})
	})
	sign("APP", func(ac *jwt.AccountClaims) {
		ac.Imports.Add(&jwt.Import{Type: jwt.Service, Account: w.rosterPub, Subject: "roster.cmd.>", Share: true})
	})
	oc := jwt.NewOperatorClaims(must(w.operator.PublicKey()))
	oc.SystemAccount = sysPub
	opts := &server.Options{
		Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver, SystemAccount: sysPub,
	}
	w.ns = must(server.NewServer(opts))
	go w.ns.Start()
	if !w.ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(w.ns.Shutdown)
	return w
}

// user connects a new user of account acc with the given tags.
func (w *jwtWorld) user(acc string, tags ...string) *nats.Conn {
	t := w.t
	kp := must(nkeys.CreateUser())
	uc := jwt.NewUserClaims(must(kp.PublicKey()))
	uc.Tags.Add(tags...)
	tok := must(uc.Encode(w.accs[acc]))
	seed := must(kp.Seed())
	nc := must(nats.Connect(w.ns.ClientURL(), nats.UserJWTAndSeed(tok, string(seed))))
	t.Cleanup(nc.Close)
	return nc
}

// With JWT users, a bound account takes the actor from a user tag that
// NATS attests through the share: true import.
func TestCallersBoundToJWTTags(t *testing.T) {
	w := startJWTWorld(t)
	svcConn := w.user("ROSTER")
	js := must(jetstream.New(svcConn))
	// In operator mode Nats-Request-Info names accounts by public key.
	policy := must(groups.ParseCallers(must(w.accs["APP"].PublicKey())+"=bound:tag:roster_actor", false))
	ctx, cancel := context.WithCancel(context.Background())
	svc := must(groups.New(ctx, groups.Config{NC: svcConn, JS: js, Log: zerolog.Nop(), Callers: policy}))
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	send := func(nc *nats.Conn, body string) callerReply {
		t.Helper()
		var r callerReply
		natstest.Eventually(t, 5*time.Second, func() error {
			msg, err := nc.Request("roster.cmd.group.create", []byte(body), time.Second)
			if err != nil {
				return err
			}
			r = callerReply{}
			return json.Unmarshal(msg.Data, &r)
		})
		return r
	}
	alice := w.user("APP", "team:blue", "roster_actor:alice")
	if r := send(alice, `{"group_id":"A","actor":"alice","name":"A"}`); r.Error.Code != "" {
		t.Fatalf("alice as alice: %+v", r.Error)
	}
	if r := send(alice, `{"group_id":"B","actor":"bob","name":"B"}`); r.Error.Code != "forbidden" {
		t.Fatalf("alice as bob: %+v", r)
	}
	if r := send(w.user("APP"), `{"group_id":"C","actor":"carol","name":"C"}`); r.Error.Code != "forbidden" {
		t.Fatalf("untagged user: %+v", r)
	}
}
