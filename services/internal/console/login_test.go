package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/console"
	"github.com/rosterhq/roster/services/internal/console/ports/web"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// TestLoginSessionsAndCSRF: a console with login sends strangers to the
// login page, takes a bcrypt user's password, sets an HttpOnly
// SameSite=Strict cookie that a second console with the same key accepts
// (a balancer needs no affinity), and refuses every action without the
// session's token, from another origin, with a forged or expired cookie.
func TestLoginSessionsAndCSRF(t *testing.T) {
	users := writeUsers(t, "alice", "correct horse", "bob", "battery staple")
	cfg := &console.Config{UsersFile: users, SessionKey: testKey}
	s := startStack(t, cfg)
	s.rv.Fix()
	s.request(t, "roster.webhook.endpoint.create", map[string]any{"actor": "ops", "id": "ep3", "url": s.rv.URL() + "/x"})

	b := newBrowser(t, s.url)
	code, _ := b.get("/endpoints/ep3")
	if code != http.StatusSeeOther {
		t.Fatalf("signed out: want 303 to the login, have %d", code)
	}
	if code, body := b.get("/login?next=/endpoints/ep3"); code != http.StatusOK || strings.Contains(body, "Development console") {
		t.Fatalf("login page: %d, or it says no login is needed", code)
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "alice", "battery staple"},
		{"unknown user", "mallory", "correct horse"},
		{"empty", "", ""},
	} {
		code, body, _ := b.post("/login", url.Values{"name": {tc.user}, "password": {tc.pw}}, nil)
		if code != http.StatusUnauthorized || !strings.Contains(body, "wrong name or password") {
			t.Errorf("%s: want 401 saying wrong name or password, have %d", tc.name, code)
		}
	}
	code, _, hdr := b.post("/login", url.Values{"name": {"alice"}, "password": {"correct horse"}, "next": {"/endpoints/ep3"}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/endpoints/ep3" {
		t.Fatalf("login: want 303 to next, have %d %q", code, hdr.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == web.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Fatalf("session cookie: want HttpOnly, SameSite=Strict (not Secure on loopback), have %+v", cookie)
	}
	code, body := b.get("/endpoints/ep3")
	if code != http.StatusOK || !strings.Contains(body, "<span>alice</span>") {
		t.Fatalf("signed in: want the page with alice, have %d", code)
	}
	tok := b.csrf("/endpoints/ep3")

	// A next that leaves the console is dropped.
	if _, _, hdr := b.post("/login", url.Values{"name": {"bob"}, "password": {"battery staple"}, "next": {"//evil.example/"}}, nil); hdr.Get("Location") != "/" {
		t.Errorf("login with an off-site next: want /, have %q", hdr.Get("Location"))
	}
	// (bob's login replaced alice's cookie in the jar; sign alice in again.)
	b.post("/login", url.Values{"name": {"alice"}, "password": {"correct horse"}}, nil)
	tok = b.csrf("/endpoints/ep3")

	refusals := []struct {
		name   string
		form   url.Values
		header map[string]string
		want   int
	}{
		{"missing token", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"csrf": {"x" + tok}}, nil, http.StatusForbidden},
		{"forged origin", url.Values{"csrf": {tok}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site fetch", url.Values{"csrf": {tok}}, map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	for _, tc := range refusals {
		code, _, _ := b.post("/endpoints/ep3/pause", tc.form, tc.header)
		if code != tc.want {
			t.Errorf("%s: want %d, have %d", tc.name, tc.want, code)
		}
	}
	r := s.request(t, "roster.webhook.endpoint.get", map[string]any{"id": "ep3"})
	if st := r["endpoint"].(map[string]any)["state"]; st != "active" {
		t.Fatalf("a refused request paused the endpoint: %v", st)
	}
	// The token in the header (htmx) or the form works.
	if code, _, _ := b.post("/endpoints/ep3/pause", url.Values{}, map[string]string{"X-CSRF-Token": tok}); code != http.StatusSeeOther {
		t.Fatalf("pause with the header token: want 303, have %d", code)
	}
	if code, _, _ := b.post("/endpoints/ep3/resume", url.Values{"csrf": {tok}}, nil); code != http.StatusSeeOther {
		t.Fatalf("resume with the form token: want 303, have %d", code)
	}

	// The session works on a second console with the same key.
	c2, err := console.New(console.Config{NC: s.ns.NC, JS: s.ns.JS, Log: testLog(t), Listen: "127.0.0.1:0",
		ClickHouse: audit.ClickHouseConfig{DSN: s.dsn}, UsersFile: users, SessionKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "console 2", c2.Run)
	b2 := newBrowser(t, c2.URL())
	u, _ := url.Parse(c2.URL())
	jarCookies := b.c.Jar.Cookies(mustURL(t, s.url))
	b2.c.Jar.SetCookies(u, jarCookies)
	if code, body := b2.get("/endpoints/ep3"); code != http.StatusOK || !strings.Contains(body, "<span>alice</span>") {
		t.Fatalf("second console: want alice's page, have %d", code)
	}

	// Forged, tampered and expired cookies are refused; so is a cookie
	// signed with another key.
	sessions, err := web.NewSessions(testKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := web.NewSessions([]byte("another key, also at least 32 bytes"), time.Hour)
	expired, _ := sessions.New("alice", time.Now().Add(-2*time.Hour))
	valid, _ := sessions.New("alice", time.Now())
	enc := sessions.Encode(valid)
	for _, tc := range []struct{ name, value string }{
		{"expired", sessions.Encode(expired)},
		{"other key", other.Encode(valid)},
		{"tampered", strings.Replace(enc, enc[2:3], string(rune(enc[2]^1)), 1)},
		{"garbage", "x.y"},
	} {
		b3 := newBrowser(t, s.url)
		b3.c.Jar.SetCookies(mustURL(t, s.url), []*http.Cookie{{Name: web.CookieName, Value: tc.value}})
		if code, _ := b3.get("/"); code != http.StatusSeeOther {
			t.Errorf("%s cookie: want 303 to the login, have %d", tc.name, code)
		}
		code, _, _ := b3.post("/endpoints/ep3/pause", url.Values{"csrf": {valid.CSRF}}, nil)
		if code != http.StatusUnauthorized {
			t.Errorf("%s cookie: action: want 401, have %d", tc.name, code)
		}
		req, _ := http.NewRequest(http.MethodGet, s.url+"/", nil)
		req.Header.Set("HX-Request", "true")
		if code, _, hdr := b3.do(req); code != http.StatusUnauthorized || hdr.Get("HX-Redirect") != "/login" {
			t.Errorf("%s cookie: htmx poll: want 401 with HX-Redirect /login, have %d %q", tc.name, code, hdr.Get("HX-Redirect"))
		}
	}

	// The actions were alice's.
	q, closeQ, err := audit.OpenQueries(audit.ClickHouseConfig{DSN: s.dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQ()
	waitChanges(t, q, "ep3", "[created/ops paused/console-alice resumed/console-alice]")

	// Signing out clears the cookie.
	if _, _, hdr := b.post("/logout", url.Values{"csrf": {tok}}, nil); !strings.Contains(hdr.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout: want the cookie cleared, have %q", hdr.Get("Set-Cookie"))
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConfigRefusals: without users and a key a console does not start,
// and without login it listens on loopback only.
func TestConfigRefusals(t *testing.T) {
	ns := natstest.Start(t)
	base := console.Config{NC: ns.NC, JS: ns.JS, Listen: "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		mod  func(*console.Config)
		want string
	}{
		{"no users", func(c *console.Config) { c.SessionKey = testKey }, "a users file is required"},
		{"short key", func(c *console.Config) { c.UsersFile = "x"; c.SessionKey = []byte("short") }, "a session key of at least 32 bytes"},
		{"no login off loopback", func(c *console.Config) { c.NoLogin = true; c.Listen = "0.0.0.0:0" }, "loopback only"},
		{"missing users file", func(c *console.Config) { c.UsersFile = "/nonexistent/users"; c.SessionKey = testKey }, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			_, err := console.New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, have %v", tc.want, err)
			}
		})
	}
}

func waitChanges(t *testing.T, q audit.Queries, id, want string) {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, func() error {
		ch, err := q.EndpointChanges(context.Background(), audit.Filter{EndpointID: id})
		if err != nil {
			return err
		}
		var have []string
		for _, c := range ch {
			have = append(have, c.Change+"/"+c.Actor)
		}
		if fmt.Sprint(have) != want {
			return fmt.Errorf("endpoint changes of %s: want %s, have %v", id, want, have)
		}
		return nil
	})
}
