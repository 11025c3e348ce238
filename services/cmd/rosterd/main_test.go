package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// The test binary doubles as rosterd: with ROSTERD_TEST_EXEC=1 it runs main,
// so tests can start real rosterd processes.
func TestMain(m *testing.M) {
	if os.Getenv("ROSTERD_TEST_EXEC") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startRosterd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// These servers have no accounts: commands carry no Nats-Request-Info.
	cmd.Env = append(os.Environ(), "ROSTERD_TEST_EXEC=1", "ROSTER_LOG_LEVEL=warn", "ROSTER_TRUST_UNATTESTED=true",
		"ROSTER_WEBHOOK_SECRET_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rosterd %v stderr:\n%s", args, stderr.String())
		}
	})
	return cmd
}

// instances counts roster-groups instances answering a ping.
func instances(nc *nats.Conn) int {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return 0
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SRV.PING."+groups.ServiceName, inbox, nil); err != nil {
		return 0
	}
	n := 0
	for {
		if _, err := sub.NextMsg(300 * time.Millisecond); err != nil {
			return n
		}
		n++
	}
}

// Two real rosterd groups processes serve the same groups side by side:
// concurrent commands through both, one killed with SIGKILL midway, and
// the stream still holds every accepted command once, versions gapless.
func TestTwoGroupsProcessesSideBySide(t *testing.T) {
	srv := natstest.Start(t)
	p1 := startRosterd(t, "groups", "--nats-url", srv.URL())
	startRosterd(t, "groups", "--nats-url", srv.URL())
	natstest.Eventually(t, 20*time.Second, func() error {
		if n := instances(srv.NC); n != 2 {
			return fmt.Errorf("%d instances", n)
		}
		return nil
	})
	const groupsN, users = 4, 30
	req := func(subject string, body map[string]any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		var msg *nats.Msg
		var err error
		// A request that hit the killed process times out: retry it with the
		// same command_id, as a client should.
		for try := 0; try < 5; try++ {
			msg, err = srv.NC.Request(subject, b, 3*time.Second)
			if err == nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		var r map[string]any
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			return nil, err
		}
		if r["error"] != nil {
			return r, fmt.Errorf("%s: %v", subject, r["error"])
		}
		return r, nil
	}
	for g := 0; g < groupsN; g++ {
		if _, err := req("roster.cmd.group.create", map[string]any{"group_id": fmt.Sprintf("G%d", g), "actor": "o", "name": "g", "join_policy": "open", "command_id": fmt.Sprintf("create-%d", g)}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, groupsN*users)
	for u := 0; u < users; u++ {
		if u == users/2 {
			// Mid-flight, no goodbye: requests p1 holds get no reply and are
			// retried by the client with the same command_id.
			_ = p1.Process.Kill()
		}
		for g := 0; g < groupsN; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := req("roster.cmd.member.join", map[string]any{"group_id": fmt.Sprintf("G%d", g), "actor": fmt.Sprintf("u%d", u), "command_id": fmt.Sprintf("join-%d-%d", g, u)})
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for g := 0; g < groupsN; g++ {
		st := foldStream(t, srv, fmt.Sprintf("G%d", g))
		if len(st.Members) != users+1 || st.Version != users+1 {
			t.Fatalf("G%d: want %d members at version %d, have %d at %d", g, users+1, users+1, len(st.Members), st.Version)
		}
	}
}

func foldStream(t *testing.T, srv *natstest.Server, id string) *group.State {
	t.Helper()
	sub, err := srv.JS.OrderedConsumer(t.Context(), events.StreamName, jetstreamOrdered(id))
	if err != nil {
		t.Fatal(err)
	}
	st := group.New(id)
	for {
		batch, err := sub.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var c events.Commit
			if err := json.Unmarshal(m.Data(), &c); err != nil {
				t.Fatal(err)
			}
			for _, e := range c.Events {
				if _, err := st.Apply(e); err != nil {
					t.Fatal(err) // gaps and repeats fail here
				}
			}
		}
		if n == 0 {
			return st
		}
	}
}

func TestDevRefusesTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	root := newRoot()
	root.SetArgs([]string{"dev", "--listen", l.Addr().String(), "--data", t.TempDir()})
	root.SetOut(&bytes.Buffer{})
	err = root.Execute()
	if !errors.Is(err, natsx.ErrPortInUse) || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("want a clear port-in-use error naming %s, have %v", l.Addr(), err)
	}
}

// The README's promise: "rosterd all" serves every service on an existing
// NATS, they show up as micro services (what "nats micro ls" lists), and a
// command is a plain request/reply (what "nats req" sends). ClickHouse is
// pointed at a closed port: the audit sink must wait, not take the process
// down.
func TestAllServesEveryServiceOverPlainRequests(t *testing.T) {
	srv := natstest.Start(t)
	startRosterd(t, "all", "--nats-url", srv.URL(), "--clickhouse-dsn", "clickhouse://127.0.0.1:1/roster")
	natstest.WaitEndpoints(t, srv.NC, groups.ServiceName, len(groups.CommandNames()))
	natstest.WaitEndpoints(t, srv.NC, membership.ServiceName, 5)
	natstest.WaitEndpoints(t, srv.NC, webhook.ServiceName, len(webhook.Verbs)+1)

	reply := func(subject, body string) map[string]any {
		t.Helper()
		msg, err := srv.NC.Request(subject, []byte(body), 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		var r map[string]any
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			t.Fatalf("%s: %q: %v", subject, msg.Data, err)
		}
		if r["error"] != nil {
			t.Fatalf("%s: %v", subject, r["error"])
		}
		return r
	}
	reply("roster.cmd.group.create", `{"group_id":"A","actor":"o","name":"A"}`)
	if r := reply("roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":["b"]}`); r["version"] != float64(2) {
		t.Fatalf("invite: %v", r)
	}
	r := reply("roster.query.members", `{"group_id":"A","min_version":2}`)
	if ms, _ := r["members"].([]any); len(ms) != 2 {
		t.Fatalf("members: %v", r)
	}
}
