package policy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
)

// clickHouse is a migrated database of the test's own on the server of
// ROSTER_CLICKHOUSE_DSN, dropped when the test ends.
func clickHouse(t *testing.T) audit.ClickHouseConfig {
	t.Helper()
	dsn := os.Getenv("ROSTER_CLICKHOUSE_DSN")
	if dsn == "" {
		dsn = audit.DefaultDSN
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	cfg := audit.ClickHouseConfig{DSN: dsn, Database: "roster_test_policy_" + hex.EncodeToString(b)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := audit.Migrate(ctx, cfg); err != nil {
		t.Fatalf("ClickHouse at %s is needed: %v", dsn, err)
	}
	t.Cleanup(func() {
		conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: dsn, Database: "default"})
		if err == nil {
			defer conn.Close()
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`")
		}
	})
	return cfg
}

// run runs fn until the test ends.
func run(t *testing.T, name string, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

type reply struct {
	Hook   map[string]any   `json:"hook"`
	Hooks  []map[string]any `json:"hooks"`
	Secret string           `json:"secret"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func call(t *testing.T, nc *nats.Conn, verb string, body string) (reply, *nats.Msg) {
	t.Helper()
	m, err := nc.Request("roster.policy.hook."+verb, []byte(body), 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", verb, err)
	}
	var r reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("%s reply %s: %v", verb, m.Data, err)
	}
	return r, m
}

// TestRosterPolicy runs roster-policy on a real NATS server with the real
// audit publisher and sink into ClickHouse: every verb on its subject, the
// wire errors, the hook source following the bucket, and one
// policy_hook_changes row per change.
func TestRosterPolicy(t *testing.T) {
	ns := natstest.Start(t)
	ch := clickHouse(t)
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: ns.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "publisher", pub.Run)
	sink, err := audit.NewSink(audit.SinkConfig{JS: ns.JS, ClickHouse: ch, Log: zerolog.Nop(), FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "sink", sink.Run)

	keys := hooktest.Keyring(t)
	svc, err := policy.New(context.Background(), policy.Config{NC: ns.NC, JS: ns.JS, Log: zerolog.Nop(), Audit: pub,
		SecretKeys: keys, AllowCIDRs: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "roster-policy", svc.Run)
	view := policy.NewView(policy.ViewConfig{JS: ns.JS, Keys: keys, Log: zerolog.Nop()})
	run(t, "view", view.Run)
	natstest.WaitEndpoints(t, ns.NC, policy.ServiceName, len(policy.Verbs))
	natstest.Eventually(t, 15*time.Second, func() error {
		if !svc.Ready() || !view.Ready() {
			return fmt.Errorf("ready: service %v, view %v", svc.Ready(), view.Ready())
		}
		return nil
	})

	// The micro service registers exactly the contract's subjects.
	info, err := micro.ControlSubject(micro.InfoVerb, policy.ServiceName, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ns.NC.Request(info, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var si micro.Info
	if err := json.Unmarshal(m.Data, &si); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, e := range si.Endpoints {
		subjects = append(subjects, e.Subject)
	}
	if want := "[roster.policy.hook.create roster.policy.hook.update roster.policy.hook.get roster.policy.hook.list roster.policy.hook.delete]"; fmt.Sprint(subjects) != want {
		t.Fatalf("subjects: want %s, have %v", want, subjects)
	}

	nc := ns.Connect(t)
	created, _ := call(t, nc, "create", `{"actor":"ops","id":"invite-check","command":"member.invite","url":"http://127.0.0.1:9/check","format":"standard","timeout":"2s","on_failure":"deny"}`)
	if created.Error != nil || !strings.HasPrefix(created.Secret, "whsec_") || created.Hook["has_secret"] != true || created.Hook["timeout"] != "2s" {
		t.Fatalf("create: %+v", created)
	}
	natstest.Eventually(t, 15*time.Second, func() error {
		hs := view.ForCommand("member.invite")
		if len(hs) != 1 || hs[0].ID != "invite-check" || hs[0].Secrets[0] != created.Secret || hs[0].Timeout != 2*time.Second {
			return fmt.Errorf("view: %+v", hs)
		}
		return nil
	})
	got, m := call(t, nc, "get", `{"id":"invite-check"}`)
	if got.Error != nil || got.Hook["on_failure"] != "deny" || strings.Contains(string(m.Data), created.Secret[6:]) {
		t.Fatalf("get: %s", m.Data)
	}
	if u, _ := call(t, nc, "update", `{"actor":"alice","id":"invite-check","on_failure":"allow"}`); u.Error != nil || u.Hook["on_failure"] != "allow" || u.Secret != "" {
		t.Fatalf("update: %+v", u)
	}
	natstest.Eventually(t, 15*time.Second, func() error {
		if hs := view.ForCommand("member.invite"); len(hs) != 1 || hs[0].OnFailure != "allow" {
			return fmt.Errorf("view after update: %+v", hs)
		}
		return nil
	})
	if l, m := call(t, nc, "list", ``); l.Error != nil || len(l.Hooks) != 1 || strings.Contains(string(m.Data), created.Secret[6:]) {
		t.Fatalf("list: %s", m.Data)
	}

	// Errors: the one wire shape, typed codes.
	for _, tc := range []struct{ verb, body, code string }{
		{"create", `{"actor":"ops","command":"member.invite","url":"http://10.0.0.1/x","format":"openim","on_failure":"deny"}`, "invalid_argument"},
		{"create", `{"actor":"ops","command":"member.invite","url":"http://127.0.0.1/x","format":"openim"}`, "invalid_argument"},
		{"create", `{"actor":"ops","id":"invite-check","command":"member.join","url":"http://127.0.0.1/x","format":"openim","on_failure":"deny"}`, "already_exists"},
		{"update", `{"actor":"ops","id":"nope","on_failure":"deny"}`, "not_found"},
		{"get", `{"id":"nope"}`, "not_found"},
		{"delete", `{"id":"invite-check"}`, "invalid_argument"},
		{"get", `{"id":"invite-check","Id":"x"}`, "invalid_argument"},
	} {
		r, m := call(t, nc, tc.verb, tc.body)
		if r.Error == nil || r.Error.Code != tc.code || m.Header.Get(micro.ErrorCodeHeader) == "" {
			t.Errorf("%s %s: want %s, have %s", tc.verb, tc.body, tc.code, m.Data)
		}
	}

	if d, _ := call(t, nc, "delete", `{"actor":"ops","id":"invite-check"}`); d.Error != nil {
		t.Fatalf("delete: %+v", d.Error)
	}
	natstest.Eventually(t, 15*time.Second, func() error {
		if hs := view.ForCommand("member.invite"); len(hs) != 0 {
			return fmt.Errorf("view after delete: %+v", hs)
		}
		return nil
	})

	// One row per change, with actor and before/after, never the secret.
	conn, _, err := audit.OpenClickHouse(ch)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	type row struct{ change, actor, command, before, after string }
	var rows []row
	natstest.Eventually(t, 20*time.Second, func() error {
		rs, err := conn.Query(context.Background(), "SELECT change, actor, command, before, after FROM `"+ch.Database+"`.policy_hook_changes FINAL WHERE hook_id = 'invite-check' ORDER BY at_us")
		if err != nil {
			return err
		}
		defer rs.Close()
		rows = rows[:0]
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.change, &r.actor, &r.command, &r.before, &r.after); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		if len(rows) != 3 {
			return fmt.Errorf("want 3 rows, have %d", len(rows))
		}
		return nil
	})
	want := []row{{change: "created", actor: "ops"}, {change: "updated", actor: "alice"}, {change: "deleted", actor: "ops"}}
	for i, r := range rows {
		if r.change != want[i].change || r.actor != want[i].actor || r.command != "member.invite" {
			t.Errorf("row %d: %+v", i, r)
		}
		if strings.Contains(r.before+r.after, created.Secret[6:]) {
			t.Errorf("row %d holds the secret", i)
		}
	}
	if rows[0].before != "" || !strings.Contains(rows[0].after, `"on_failure":"deny"`) || !strings.Contains(rows[1].after, `"on_failure":"allow"`) || rows[2].after != "" {
		t.Errorf("before/after: %+v", rows)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := policy.New(context.Background(), policy.Config{AllowCIDRs: []string{"not-a-cidr"}, Replicas: 9})
	for _, want := range []string{"NC is required", "JS is required", "not-a-cidr", "replicas"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
