package delivery_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

func newClient(t *testing.T, allow []string, res delivery.Resolver) *delivery.Client {
	t.Helper()
	g, err := delivery.NewGuard(delivery.GuardConfig{Allow: allow, Resolver: res, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := delivery.NewClient(delivery.ClientConfig{Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGuardCheck(t *testing.T) {
	g, err := delivery.NewGuard(delivery.GuardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	allowLoop, err := delivery.NewGuard(delivery.GuardConfig{Allow: []string{"127.0.0.0/8", "::1/128"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		guard   *delivery.Guard
		addr    string
		wantErr error
	}{
		{"loopback v4", g, "127.0.0.1", delivery.ErrBlockedAddress},
		{"loopback v6", g, "::1", delivery.ErrBlockedAddress},
		{"v4-mapped loopback", g, "::ffff:127.0.0.1", delivery.ErrBlockedAddress},
		{"private 10/8", g, "10.1.2.3", delivery.ErrBlockedAddress},
		{"private 172.16/12", g, "172.20.0.1", delivery.ErrBlockedAddress},
		{"private 192.168/16", g, "192.168.1.1", delivery.ErrBlockedAddress},
		{"link-local", g, "169.254.10.10", delivery.ErrBlockedAddress},
		{"cloud metadata", g, "169.254.169.254", delivery.ErrBlockedAddress},
		{"aws v6 metadata", g, "fd00:ec2::254", delivery.ErrBlockedAddress},
		{"CGNAT", g, "100.64.0.1", delivery.ErrBlockedAddress},
		{"alibaba metadata", g, "100.100.100.200", delivery.ErrBlockedAddress},
		{"unique-local", g, "fc00::1", delivery.ErrBlockedAddress},
		{"link-local v6", g, "fe80::1", delivery.ErrBlockedAddress},
		{"unspecified", g, "0.0.0.0", delivery.ErrBlockedAddress},
		{"public v4", g, "8.8.8.8", nil},
		{"public v6", g, "2606:4700:4700::1111", nil},
		{"allowlisted loopback", allowLoop, "127.0.0.1", nil},
		{"allowlist is narrow", allowLoop, "10.0.0.1", delivery.ErrBlockedAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.addr))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Check(%s): want %v, have %v", tt.addr, tt.wantErr, err)
			}
		})
	}
}

func TestGuardConfigValidate(t *testing.T) {
	_, err := delivery.NewGuard(delivery.GuardConfig{Allow: []string{"not-a-cidr", "10.0.0.0/8"}})
	if err == nil || !strings.Contains(err.Error(), "not-a-cidr") {
		t.Fatalf("want an error naming the bad cidr, have %v", err)
	}
}

// staticResolver answers every name with fixed addresses (a DNS record
// pointing at an internal address, as in a rebinding attack).
type staticResolver map[string][]netip.Addr

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestClientSSRFAfterResolution(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	res := staticResolver{"receiver.example": {netip.MustParseAddr("127.0.0.1")}}
	url := "http://receiver.example:" + itoa(port) + "/hook"
	tests := []struct {
		name  string
		allow []string
		url   string
		want  delivery.Class
	}{
		{"name resolving to loopback is refused", nil, url, delivery.ClassBlockedAddress},
		{"loopback literal is refused", nil, srv.URL, delivery.ClassBlockedAddress},
		{"unknown name is a dns error", nil, "http://nowhere.example/", delivery.ClassDNSError},
		{"allowlisted loopback is delivered", []string{"127.0.0.0/8"}, url, delivery.ClassNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			c := newClient(t, tt.allow, res)
			r := c.Do(context.Background(), delivery.Request{URL: tt.url, Timeout: 2 * time.Second})
			if r.Class != tt.want {
				t.Fatalf("class: want %q, have %q (err %v)", tt.want, r.Class, r.Err)
			}
			if tt.want != delivery.ClassNone && hits.Load() != before {
				t.Fatal("a refused destination was contacted")
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestClientMisbehavingReceivers(t *testing.T) {
	var redirectTargetHit atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/target", func(http.ResponseWriter, *http.Request) { redirectTargetHit.Store(true) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
		_ = conn.Close()
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 160 { // 10 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/trickle", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, []string{"127.0.0.0/8"}, nil)
	const timeout = 500 * time.Millisecond
	tests := []struct {
		name          string
		path          string
		wantClass     delivery.Class // of JudgeStandard
		wantTruncated bool
	}{
		{"redirect is not followed", "/redirect", delivery.ClassRedirect, false},
		{"connection reset", "/reset", delivery.ClassConnectError, false},
		{"10 MB body is read up to the cap", "/huge", delivery.ClassNone, true},
		{"slow trickle hits the total timeout", "/trickle", delivery.ClassTimeout, false},
		{"hanging receiver times out", "/hang", delivery.ClassTimeout, false},
		{"5xx", "/500", delivery.ClassHTTP5xx, false},
		{"4xx", "/404", delivery.ClassHTTP4xx, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := c.Do(context.Background(), delivery.Request{URL: srv.URL + tt.path, Timeout: timeout})
			took := time.Since(start)
			if took > timeout+time.Second {
				t.Fatalf("took %s, bound %s", took, timeout)
			}
			v := delivery.JudgeStandard(r)
			if v.Class != tt.wantClass {
				t.Fatalf("class: want %q, have %q (%s)", tt.wantClass, v.Class, v.Message)
			}
			if r.Truncated != tt.wantTruncated || len(r.Body) > delivery.DefaultMaxBody {
				t.Fatalf("truncated: want %v, have %v (%d bytes kept)", tt.wantTruncated, r.Truncated, len(r.Body))
			}
		})
	}
	if redirectTargetHit.Load() {
		t.Fatal("redirect was followed")
	}
	// A body over the cap cannot be judged in the openim format.
	r := c.Do(context.Background(), delivery.Request{URL: srv.URL + "/huge", Timeout: timeout})
	if v := delivery.JudgeOpenIM(r); v.Class != delivery.ClassTooLarge {
		t.Fatalf("openim huge body: want too_large, have %q", v.Class)
	}
}

func TestClientTLSError(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c := newClient(t, []string{"127.0.0.0/8"}, nil) // does not trust the test CA
	r := c.Do(context.Background(), delivery.Request{URL: srv.URL, Timeout: 2 * time.Second})
	if r.Class != delivery.ClassTLSError {
		t.Fatalf("want tls_error, have %q (%v)", r.Class, r.Err)
	}
}

func TestClientConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := newClient(t, []string{"127.0.0.0/8"}, nil)
	r := c.Do(context.Background(), delivery.Request{URL: "http://" + addr, Timeout: 2 * time.Second})
	if r.Class != delivery.ClassConnectError {
		t.Fatalf("want connect_error, have %q (%v)", r.Class, r.Err)
	}
}

func TestSignaturesVerifyWithReferenceLibrary(t *testing.T) {
	oldS, _ := delivery.GenerateSecret()
	newS, _ := delivery.GenerateSecret()
	var keys [][]byte
	for _, s := range []string{newS, oldS} {
		k, err := delivery.ParseSecret(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	body := []byte(`{"type":"member.invited","data":{}}`)
	h := http.Header{}
	delivery.SignHeaders(h, delivery.MessageID("ep1", "ev1"), time.Now(), body, keys)
	if n := len(strings.Fields(h.Get(delivery.HeaderSignature))); n != 2 {
		t.Fatalf("want one signature per active secret (2), have %d", n)
	}
	for _, s := range []string{oldS, newS} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Fatalf("reference verifier rejected the signature: %v", err)
		}
	}
	other, _ := delivery.GenerateSecret()
	wh, _ := standardwebhooks.NewWebhook(other)
	if err := wh.Verify(body, h); err == nil {
		t.Fatal("a foreign secret verified")
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantErr error
	}{
		{"generated", mustSecret(t), nil},
		{"no prefix", "abc", delivery.ErrInvalidSecret},
		{"not base64", "whsec_***", delivery.ErrInvalidSecret},
		{"too short", "whsec_c2hvcnQ=", delivery.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := delivery.ParseSecret(tt.secret)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("want %v, have %v", tt.wantErr, err)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Fatal("error quotes the secret")
			}
		})
	}
}

func mustSecret(t *testing.T) string {
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMessageIDStable(t *testing.T) {
	a, b := delivery.MessageID("ep1", "ev1"), delivery.MessageID("ep1", "ev1")
	if a != b || a == delivery.MessageID("ep2", "ev1") || a == delivery.MessageID("ep1", "ev2") {
		t.Fatalf("ids must be stable per (endpoint, event) and distinct otherwise: %s %s", a, b)
	}
}

func TestJudgeOpenIM(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   delivery.Class
	}{
		{"seed receiver", 200, `{"actionCode":0}Callback ok`, delivery.ClassInvalidResponse},
		{"plain text", 200, `200 Content`, delivery.ClassInvalidResponse},
		{"html", 200, `<html><body>ok</body></html>`, delivery.ClassInvalidResponse},
		{"empty", 200, ``, delivery.ClassInvalidResponse},
		{"two objects", 200, `{"actionCode":0}{"actionCode":0}`, delivery.ClassInvalidResponse},
		{"array", 200, `[{"actionCode":0}]`, delivery.ClassInvalidResponse},
		{"wrong type", 200, `{"actionCode":"0"}`, delivery.ClassInvalidResponse},
		{"refused by receiver", 200, `{"actionCode":1,"errCode":500,"errMsg":"db down"}`, delivery.ClassInvalidResponse},
		{"ok", 200, `{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`, delivery.ClassNone},
		{"ok with whitespace", 200, " \n{\"actionCode\":0}\n", delivery.ClassNone},
		{"ok but 500", 500, `{"actionCode":0}`, delivery.ClassHTTP5xx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := delivery.JudgeOpenIM(delivery.Response{Status: tt.status, Body: []byte(tt.body)})
			if v.Class != tt.want || v.Success != (tt.want == delivery.ClassNone) {
				t.Fatalf("want %q, have %q (%s)", tt.want, v.Class, v.Message)
			}
		})
	}
}

func TestPolicyNext(t *testing.T) {
	p := delivery.Policy{Schedule: delivery.DefaultSchedule, Jitter: 0.2}
	mid := func() float64 { return 0.5 }
	lo := func() float64 { return 0 }
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		rnd        func() float64
		want       time.Duration
		wantOK     bool
	}{
		{"after first attempt: 5s", 1, 0, mid, 5 * time.Second, true},
		{"after second: 5m", 2, 0, mid, 5 * time.Minute, true},
		{"jitter low end", 2, 0, lo, 4 * time.Minute, true},
		{"retry-after within bounds", 2, 7 * time.Minute, mid, 7 * time.Minute, true},
		{"retry-after clamped up", 2, time.Second, mid, 5 * time.Minute, true},
		{"retry-after clamped down", 2, 24 * time.Hour, mid, 10 * time.Minute, true},
		{"last attempt exhausts", 8, 0, mid, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, ok := p.Next(tt.attempt, tt.retryAfter, tt.rnd)
			if have != tt.want || ok != tt.wantOK {
				t.Fatalf("want %s %v, have %s %v", tt.want, tt.wantOK, have, ok)
			}
		})
	}
	if err := (delivery.Policy{}).Validate(); err == nil {
		t.Fatal("an empty schedule must not validate")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		value  string
		want   time.Duration
	}{
		{"seconds on 429", 429, "30", 30 * time.Second},
		{"date on 503", 503, now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{"ignored on 500", 500, "30", 0},
		{"garbage", 429, "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Retry-After": {tt.value}}
			if have := delivery.RetryAfter(tt.status, h, now); have != tt.want {
				t.Fatalf("want %s, have %s", tt.want, have)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := delivery.HealthPolicy{MaxConsecutiveFailures: 3, MaxFailingFor: time.Hour}
	var h delivery.Health
	if pause, _ := h.Observe(false, t0, p); pause {
		t.Fatal("paused after one failure")
	}
	h.Observe(false, t0, p)
	if pause, _ := h.Observe(true, t0, p); pause || h.Consecutive() != 0 {
		t.Fatal("a success must reset the run")
	}
	h.Observe(false, t0, p)
	h.Observe(false, t0, p)
	if pause, reason := h.Observe(false, t0, p); !pause || !strings.Contains(reason, "3 consecutive") {
		t.Fatalf("want a pause after 3 failures, have %v %q", pause, reason)
	}
	// By time: failures spread out, below the count threshold.
	h.Reset()
	p.MaxConsecutiveFailures = 100
	h.Observe(false, t0, p)
	if pause, _ := h.Observe(false, t0.Add(59*time.Minute), p); pause {
		t.Fatal("paused before the window")
	}
	if pause, _ := h.Observe(false, t0.Add(61*time.Minute), p); !pause {
		t.Fatal("want a pause after failing for an hour")
	}
}
