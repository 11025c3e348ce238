package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/console"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestConsoleUnderItsGrant runs "rosterd console" with the CONSOLE user of
// deploy/accounts.conf next to every other service under its own grant: a
// signed-in operator sees the stack, the event tail, a group at a past
// version, pauses an endpoint (recorded as console-<name>), and the server
// logs no permission violation for the console, which may still not send a
// command, read the secrets bucket or touch another reader's consumer.
func TestConsoleUnderItsGrant(t *testing.T) {
	d := startDeployment(t)
	d.runService(t, "groups", func(o *options) { o.callers = "OPERATOR=trusted" })
	d.runService(t, "projector", nil)
	d.runService(t, "query", nil)
	d.runService(t, "dispatcher", func(o *options) { o.webhookAllow = []string{"127.0.0.0/8"} })
	dsn, _ := testDemoDSN(t)
	d.runService(t, "auditsink", func(o *options) { o.clickhouseDSN = dsn })
	d.runService(t, "policy", func(o *options) { o.webhookAllow = []string{"127.0.0.0/8"} })

	dir := t.TempDir()
	users, err := console.AddUser(nil, "alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	usersFile, keyFile := filepath.Join(dir, "users"), filepath.Join(dir, "session.key")
	if err := os.WriteFile(usersFile, users, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(console.GenerateKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	d.runService(t, "console", func(o *options) {
		o.clickhouseDSN = dsn
		o.console = consoleOptions{listen: addr, usersFile: usersFile, sessionKeyFile: keyFile}
	})

	op := d.user(t, "operator", "operator", "")
	natstest.WaitEndpoints(t, op.Conn, "roster-groups", 1)
	natstest.WaitEndpoints(t, op.Conn, "roster-webhooks", 1)
	natstest.WaitEndpoints(t, op.Conn, "roster-query", 1)
	rcv := newReceiver(t)
	mustOK(t, op, "roster.webhook.endpoint.create", map[string]any{"actor": "ops", "id": "ep_c", "url": rcv.URL})
	mustOK(t, op, "roster.cmd.group.create", map[string]any{"group_id": "GC", "actor": "o", "name": "C"})
	mustOK(t, op, "roster.cmd.member.invite", map[string]any{"group_id": "GC", "actor": "o", "user_ids": []string{"u1"}})

	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, form url.Values) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		_, err := hc.Get(base + "/login")
		return err
	})
	if code := post("/login", url.Values{"name": {"alice"}, "password": {"correct horse"}}); code != http.StatusOK {
		t.Fatalf("login (following the redirect): %d", code)
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		code, body := get("/")
		for _, want := range []string{"<span>alice</span>", `roster-query</th><td><span class="pill ok">up`, `roster-policy</th><td><span class="pill ok">up`, "lag 0 commits", "lag 0 records, 0 commits", `data-endpoint="ep_c"`} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("overview (%d) lacks %q", code, want)
			}
		}
		if strings.Contains(body, "unknown:") || strings.Contains(body, "unavailable:") {
			return errors.New("overview shows a failed source")
		}
		return nil
	})
	if code, body := get("/events?group=GC"); code != http.StatusOK || !strings.Contains(body, "<td>member.invited</td>") || strings.Contains(body, "Events unavailable") {
		t.Fatalf("events tail: %d", code)
	}
	if code, body := get("/policy"); code != http.StatusOK || strings.Contains(body, "unavailable") || !strings.Contains(body, "No policy hooks.") {
		t.Fatalf("policy page: %d:\n%s", code, body)
	}
	if code, body := get("/groups/GC?at_version=1"); code != http.StatusOK || strings.Contains(body, ">u1<") {
		t.Fatalf("group at version 1: %d, or u1 already a member", code)
	}
	_, page := get("/endpoints/ep_c")
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if tok == nil {
		t.Fatalf("no csrf token on the endpoint page:\n%s", page)
	}
	if code := post("/endpoints/ep_c/pause", url.Values{"csrf": {tok[1]}, "reason": {"check"}}); code != http.StatusOK {
		t.Fatalf("pause (following the redirect): %d", code)
	}
	var got struct {
		Endpoint struct {
			PausedBy string `json:"paused_by"`
		} `json:"endpoint"`
	}
	if err := json.Unmarshal(mustOK(t, op, "roster.webhook.endpoint.get", map[string]any{"id": "ep_c"}), &got); err != nil || got.Endpoint.PausedBy != "console-alice" {
		t.Fatalf("paused by: want console-alice, have %q (%v)", got.Endpoint.PausedBy, err)
	}

	pub := d.keys.ServerEnv[nkeyEnv("console")]
	if v := d.log.violations(pub); len(v) > 0 {
		t.Fatalf("the console needed more than its grant:\n%s", strings.Join(v, "\n"))
	}
	c := d.service(t, "console")
	c.mustRefuseRequest(t, "roster.cmd.group.create", []byte(`{"group_id":"GX","actor":"o","name":"X"}`))
	c.mustRefuseRequest(t, "$JS.API.CONSUMER.CREATE.KV_ROSTER_WEBHOOK_ENDPOINTS.sniff", []byte(`{}`))
	c.mustRefuseRequest(t, "$JS.API.CONSUMER.DELETE.ROSTER_EVENTS.roster_webhook_fanout", nil)
	c.mustRefuseRequest(t, "$JS.API.DIRECT.GET.ROSTER_AUDIT", []byte(`{"seq":1}`))
}
