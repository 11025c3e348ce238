package webhook_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// TestSSRFEveryAddressFormRefused: against a dispatcher without an
// allowlist, every way of writing a loopback address is either refused at
// create (non-canonical and zoned forms, invalid_argument) or accepted and
// then refused at delivery (blocked_address, for endpoint.test and for
// scheduled deliveries alike). Receivers listen on 127.0.0.1 and [::1] and
// must see nothing; no audit row carries the URL's query token.
func TestSSRFEveryAddressFormRefused(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	var hits atomic.Int32
	count := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); w.WriteHeader(http.StatusNoContent) })
	v4 := httptest.NewServer(count)
	t.Cleanup(v4.Close)
	_, port, _ := net.SplitHostPort(v4.Listener.Addr().String())
	l6, err := net.Listen("tcp6", "[::1]:"+port)
	if err != nil {
		t.Fatalf("listen on [::1]:%s: %v", port, err)
	}
	v6 := &httptest.Server{Listener: l6, Config: &http.Server{Handler: count}}
	v6.Start()
	t.Cleanup(v6.Close)

	h.start(h.config(func(c *webhook.Config) { c.AllowCIDRs = nil }))
	nc := h.srv.NC
	refusedAtCreate := []string{"127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1",
		"127.000.000.001", "127.0.0.1.", "0", "１２７.０.０.１", "[::1%25lo]", "[::1%251]", "[fe80::1%25eth0]", "127.0.0.256"}
	for i, host := range refusedAtCreate {
		req := map[string]any{"actor": "ops", "id": fmt.Sprintf("bad%d", i), "url": "http://" + host + ":" + port + "/hook"}
		if have := request(t, nc, webhook.SubjectPrefix+"create", req, nil); have != string(events.CodeInvalidArgument) {
			t.Errorf("create with host %s: want %s, have %q", host, events.CodeInvalidArgument, have)
		}
	}
	refusedAtDelivery := []string{"127.0.0.1", "0.0.0.0", "localhost", "localhost.", "hooks.localhost",
		"[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::FFFF:7F00:1]", "[::127.0.0.1]", "[::]",
		"[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::ffff:a9fe:a9fe]", "169.254.169.254", "100.64.0.1",
		"192.0.0.192", "198.18.0.1", "240.0.0.1", "224.0.0.1", "192.0.2.1", "[fd00:ec2::254]", "[fe80::1]"}
	ids := make(map[string]string, len(refusedAtDelivery))
	for i, host := range refusedAtDelivery {
		id := fmt.Sprintf("ok%d", i)
		ids[id] = host
		mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": id,
			"url": "http://" + host + ":" + port + "/hook?token=s3cret"}, nil)
	}
	for id, host := range ids {
		var tr webhook.TestReply
		mustOK(t, nc, webhook.SubjectPrefix+"test", map[string]any{"actor": "ops", "id": id}, &tr)
		if tr.Success || tr.FailureClass != string(delivery.ClassBlockedAddress) {
			t.Errorf("test %s: want blocked_address, have success=%v class=%q (%s)", host, tr.Success, tr.FailureClass, tr.FailureMsg)
		}
		if strings.Contains(tr.FailureMsg, "s3cret") {
			t.Errorf("test %s: failure message carries the token: %s", host, tr.FailureMsg)
		}
	}
	command(t, nc, "group.create", map[string]any{"group_id": "S", "actor": "o", "name": "S"})
	natstest.Eventually(t, 15*time.Second, func() error {
		for id, host := range ids {
			var scheduled bool
			for _, a := range h.rec.attempts(id) {
				if a.Trigger == webhook.TriggerTest {
					continue
				}
				scheduled = true
				if a.FailureClass != string(delivery.ClassBlockedAddress) {
					t.Fatalf("%s: scheduled attempt class %q (%s), want blocked_address", host, a.FailureClass, a.FailureMsg)
				}
			}
			if !scheduled {
				return fmt.Errorf("%s: no scheduled attempt yet", host)
			}
		}
		return nil
	})
	if n := hits.Load(); n != 0 {
		t.Fatalf("loopback receivers got %d requests, want none", n)
	}
	for id := range ids {
		for _, a := range h.rec.attempts(id) {
			if strings.Contains(a.URL, "s3cret") || strings.Contains(a.FailureMsg, "s3cret") {
				t.Fatalf("attempt row carries the token: url %q message %q", a.URL, a.FailureMsg)
			}
		}
		for _, c := range h.rec.changes(id) {
			if strings.Contains(c.Endpoint, "s3cret") {
				t.Fatalf("endpoint-change row carries the token: %s", c.Endpoint)
			}
		}
		if len(h.rec.changes(id)) == 0 {
			t.Fatalf("%s: no endpoint-change row", id)
		}
	}
}
