package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// recorder keeps every audit record.
type recorder struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (r *recorder) Record(_ context.Context, rec audit.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return nil
}

func (r *recorder) RecordDurable(ctx context.Context, rec audit.Record) error {
	return r.Record(ctx, rec)
}

func (r *recorder) attempts(endpointID string) []audit.DeliveryAttempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.DeliveryAttempt
	for _, rec := range r.recs {
		if a, ok := rec.(audit.DeliveryAttempt); ok && a.EndpointID == endpointID {
			out = append(out, a)
		}
	}
	return out
}

func (r *recorder) changes(endpointID string) []audit.EndpointChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.EndpointChange
	for _, rec := range r.recs {
		if c, ok := rec.(audit.EndpointChange); ok && c.EndpointID == endpointID {
			out = append(out, c)
		}
	}
	return out
}

// fastRetry is a compressed schedule: many quick attempts.
var fastRetry = delivery.Policy{Schedule: []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond,
	20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond,
	20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, Jitter: 0.2}

type harness struct {
	t   *testing.T
	srv *natstest.Server
	rec *recorder
	// keys seal endpoint secrets; every dispatcher of the harness shares
	// them, as a deployment's dispatchers share one key.
	keys *endpoint.Keyring
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, srv: natstest.Start(t), rec: &recorder{}, keys: testKeyring(t)}
}

func (h *harness) config(mod func(*webhook.Config)) webhook.Config {
	cfg := webhook.Config{
		NC: h.srv.NC, JS: h.srv.JS, Log: zerolog.New(zerolog.NewTestWriter(h.t)).Level(zerolog.WarnLevel), Audit: h.rec,
		AllowCIDRs:   []string{"127.0.0.0/8"}, // receivers run on loopback: allowlisted explicitly
		SecretKeys:   h.keys,                  // every test's secrets are sealed at rest
		Retry:        fastRetry,
		Health:       delivery.HealthPolicy{MaxConsecutiveFailures: 1000},
		HoldDelay:    10 * time.Millisecond,
		MaxHoldDelay: 200 * time.Millisecond,
		AckWait:      5 * time.Second,
		// A killed dispatcher's fan-out is taken over within about 5s.
		FanoutAckWait: 2 * time.Second,
		Metrics:       prometheus.NewRegistry(),
		DepthInterval: 50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// start runs a dispatcher; the returned stop cancels it and waits.
func (h *harness) start(cfg webhook.Config) (*webhook.Dispatcher, func()) {
	h.t.Helper()
	return h.startChecked(cfg, true)
}

func (h *harness) startChecked(cfg webhook.Config, checkErr bool) (*webhook.Dispatcher, func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := webhook.New(ctx, cfg)
	if err != nil {
		h.t.Fatalf("new dispatcher: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && checkErr {
					h.t.Errorf("dispatcher run: %v", err)
				}
			case <-time.After(20 * time.Second):
				h.t.Error("dispatcher did not stop")
			}
		})
	}
	h.t.Cleanup(stop)
	// Ready when the service answers.
	natstest.Eventually(h.t, 5*time.Second, func() error {
		_, err := h.srv.NC.Request(webhook.SubjectPrefix+"list", []byte(`{}`), time.Second)
		return err
	})
	return d, stop
}

// startGroups runs the real command service.
func (h *harness) startGroups() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: h.srv.NC, JS: h.srv.JS, Log: zerolog.Nop()})
	if err != nil {
		h.t.Fatalf("groups: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(h.t, h.srv.NC, groups.ServiceName, len(groups.CommandNames()))
}

// request sends a request and decodes the reply into out; it returns the
// error code of a failure reply ("" on success).
func request(t *testing.T, nc *nats.Conn, subject string, req any, out any) string {
	t.Helper()
	var body []byte
	switch v := req.(type) {
	case string:
		body = []byte(v)
	default:
		var err error
		if body, err = json.Marshal(req); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(msg.Data, &e)
	if e.Error != nil {
		return e.Error.Code
	}
	if out != nil {
		if err := json.Unmarshal(msg.Data, out); err != nil {
			t.Fatalf("%s reply %s: %v", subject, msg.Data, err)
		}
	}
	return ""
}

func mustOK(t *testing.T, nc *nats.Conn, subject string, req any, out any) {
	t.Helper()
	if code := request(t, nc, subject, req, out); code != "" {
		t.Fatalf("%s: error %s", subject, code)
	}
}

// command runs a group command and fails the test unless it succeeds.
func command(t *testing.T, nc *nats.Conn, name string, req map[string]any) []json.RawMessage {
	t.Helper()
	var reply struct {
		Events []json.RawMessage `json:"events"`
	}
	start := time.Now()
	mustOK(t, nc, "roster.cmd."+name, req, &reply)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("%s took %s: commands must not wait on webhooks", name, took)
	}
	return reply.Events
}

// received is one request a receiver got.
type received struct {
	Path    string
	Headers http.Header
	Body    []byte
	At      time.Time
	// Remote is the sender's address: each dispatcher's HTTP client has
	// connections of its own, so it tells two dispatchers' requests apart.
	Remote string
}

// receiver is a real HTTP server on 127.0.0.1 whose behaviour a test can
// change while it runs.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *receiver {
	rv := &receiver{respond: respond}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rv.mu.Lock()
		rv.got = append(rv.got, received{Path: r.URL.Path, Headers: r.Header.Clone(), Body: body, At: time.Now(), Remote: r.RemoteAddr})
		fn := rv.respond
		rv.mu.Unlock()
		fn(w, r)
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *receiver) set(fn func(w http.ResponseWriter, r *http.Request)) {
	rv.mu.Lock()
	rv.respond = fn
	rv.mu.Unlock()
}

func (rv *receiver) requests() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]received(nil), rv.got...)
}

func ok(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

func atLeast(n int, rv *receiver) func() error {
	return func() error {
		if have := len(rv.requests()); have < n {
			return fmt.Errorf("received %d requests, want at least %d", have, n)
		}
		return nil
	}
}
