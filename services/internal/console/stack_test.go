package console_test

import (
	"context"
	"encoding/json"
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

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
	"github.com/rosterhq/roster/services/internal/console"
	"github.com/rosterhq/roster/services/internal/demo"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy"
	policyapp "github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
)

// stack is every Roster service in process on a real nats-server and a
// ClickHouse database of its own, with the console in front.
type stack struct {
	ns  *natstest.Server
	nc  *nats.Conn
	dsn string
	rv  *demo.Receiver
	url string
}

func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// run runs fn in the background until the test ends.
func run(t *testing.T, name string, fn func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// startStack runs the services the console reads and the console with
// cfg's login settings (NoLogin when cfg is nil).
func startStack(t *testing.T, cfg *console.Config) *stack {
	t.Helper()
	s := &stack{ns: natstest.Start(t)}
	s.nc = s.ns.Connect(t)
	s.dsn, _ = audittest.DSN(t, "console_")
	log := testLog(t)
	ctx := context.Background()

	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: s.ns.JS, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "publisher", pub.Run)
	sink, err := audit.NewSink(audit.SinkConfig{JS: s.ns.JS, Log: log, ClickHouse: audit.ClickHouseConfig{DSN: s.dsn}, FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "sink", sink.Run)
	// roster-policy and the checker roster-groups asks, as rosterd wires
	// them (services/cmd/rosterd/groups.go), without a secret key.
	ps, err := policy.New(ctx, policy.Config{NC: s.ns.NC, JS: s.ns.JS, Log: log, Audit: pub, AllowCIDRs: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "policy", ps.Run)
	view := policy.NewView(policy.ViewConfig{JS: s.ns.JS, Log: log})
	run(t, "policy view", view.Run)
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := policyapp.NewChecker(policyapp.CheckConfig{Hooks: view, Sender: client, Audit: pub, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, func() error { return boolErr(view.Ready(), "policy view not ready") })
	gs, err := groups.New(ctx, groups.Config{NC: s.ns.NC, JS: s.ns.JS, Log: log, Audit: pub, Policy: checker})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "groups", gs.Run)
	d, err := webhook.New(ctx, webhook.Config{NC: s.ns.NC, JS: s.ns.JS, Log: log, Audit: pub,
		AllowCIDRs: []string{"127.0.0.0/8"}, Health: demo.HealthPolicy})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "dispatcher", d.Run)
	p, err := membership.NewProjector(membership.Config{JS: s.ns.JS, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "projector", p.Run)
	q, err := membership.NewQueries(membership.QueryConfig{NC: s.ns.NC, JS: s.ns.JS, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "query", q.Run)

	if s.rv, err = demo.StartReceiver(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.rv.Close)

	c := console.Config{NoLogin: true}
	if cfg != nil {
		c = *cfg
	}
	c.NC, c.JS, c.Log, c.Listen = s.ns.NC, s.ns.JS, log, "127.0.0.1:0"
	c.ClickHouse = audit.ClickHouseConfig{DSN: s.dsn}
	con, err := console.New(c)
	if err != nil {
		t.Fatal(err)
	}
	s.url = con.URL()
	run(t, "console", con.Run)
	natstest.WaitEndpoints(t, s.ns.NC, groups.ServiceName, len(groups.CommandNames()))
	natstest.WaitEndpoints(t, s.ns.NC, webhook.ServiceName, len(webhook.Verbs)+1)
	natstest.WaitEndpoints(t, s.ns.NC, membership.ServiceName, 5)
	natstest.WaitEndpoints(t, s.ns.NC, policy.ServiceName, len(policy.Verbs))
	natstest.Eventually(t, 10*time.Second, func() error { return boolErr(sink.Ready() && con.Ready(), "sink or console not ready") })
	return s
}

type errString string

func (e errString) Error() string { return string(e) }

func boolErr(ok bool, msg string) error {
	if ok {
		return nil
	}
	return errString(msg)
}

// request sends a Roster request and fails the test on an error reply.
func (s *stack) request(t *testing.T, subject string, req any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(req)
	m, err := s.nc.Request(subject, b, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var r map[string]any
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatal(err)
	}
	if r["error"] != nil {
		t.Fatalf("%s: %v", subject, r["error"])
	}
	return r
}

// seed plays the seed scenario's commands on group g: create, invite a,
// remove a, invite a (versions 1 to 4).
func (s *stack) seed(t *testing.T, g string) {
	t.Helper()
	s.request(t, "roster.cmd.group.create", map[string]any{"group_id": g, "actor": "o", "name": "Group " + g})
	s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{"a"}})
	s.request(t, "roster.cmd.member.remove", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{"a"}})
	s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{"a"}})
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects (the tests look at them).
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 70 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	code, body, _ := b.do(req)
	return code, body
}

// post sends a form as a same-origin browser would (Sec-Fetch-Site).
func (b *browser) post(path string, form url.Values, header map[string]string) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.base)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token the page at path carries in its forms.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	code, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no csrf field:\n%s", path, code, body)
	}
	return m[1]
}

// writeUsers writes a users file with one user per name:password pair.
func writeUsers(t *testing.T, pairs ...string) string {
	t.Helper()
	var file []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		var err error
		if file, err = console.AddUser(file, pairs[i], pairs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
