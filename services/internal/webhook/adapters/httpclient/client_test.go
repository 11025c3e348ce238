package httpclient_test

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

	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

func newClient(t *testing.T, allow []string, res httpclient.Resolver) *httpclient.Client {
	t.Helper()
	g, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: allow, Resolver: res, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := httpclient.NewClient(httpclient.ClientConfig{Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGuardCheck(t *testing.T) {
	g, err := httpclient.NewGuard(httpclient.GuardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	allowLoop, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"127.0.0.0/8", "::1/128"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		guard   *httpclient.Guard
		addr    string
		wantErr error
	}{
		{"loopback v4", g, "127.0.0.1", httpclient.ErrBlockedAddress},
		{"loopback v6", g, "::1", httpclient.ErrBlockedAddress},
		{"v4-mapped loopback", g, "::ffff:127.0.0.1", httpclient.ErrBlockedAddress},
		{"private 10/8", g, "10.1.2.3", httpclient.ErrBlockedAddress},
		{"private 172.16/12", g, "172.20.0.1", httpclient.ErrBlockedAddress},
		{"private 192.168/16", g, "192.168.1.1", httpclient.ErrBlockedAddress},
		{"link-local", g, "169.254.10.10", httpclient.ErrBlockedAddress},
		{"cloud metadata", g, "169.254.169.254", httpclient.ErrBlockedAddress},
		{"aws v6 metadata", g, "fd00:ec2::254", httpclient.ErrBlockedAddress},
		{"CGNAT", g, "100.64.0.1", httpclient.ErrBlockedAddress},
		{"alibaba metadata", g, "100.100.100.200", httpclient.ErrBlockedAddress},
		{"unique-local", g, "fc00::1", httpclient.ErrBlockedAddress},
		{"link-local v6", g, "fe80::1", httpclient.ErrBlockedAddress},
		{"unspecified", g, "0.0.0.0", httpclient.ErrBlockedAddress},
		{"public v4", g, "8.8.8.8", nil},
		{"public v6", g, "2606:4700:4700::1111", nil},
		{"allowlisted loopback", allowLoop, "127.0.0.1", nil},
		{"allowlist is narrow", allowLoop, "10.0.0.1", httpclient.ErrBlockedAddress},
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
	_, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"not-a-cidr", "10.0.0.0/8"}})
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
			if r.Truncated != tt.wantTruncated || len(r.Body) > httpclient.DefaultMaxBody {
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
