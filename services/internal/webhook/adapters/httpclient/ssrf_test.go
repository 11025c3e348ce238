package httpclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// TestGuardRefusesEverythingButGlobalUnicast walks every special-use range
// and every disguise of an internal address.
func TestGuardRefusesEverythingButGlobalUnicast(t *testing.T) {
	g, err := httpclient.NewGuard(httpclient.GuardConfig{})
	if err != nil {
		t.Fatal(err)
	}
	wide, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"0.0.0.0/0", "::/0"}})
	if err != nil {
		t.Fatal(err)
	}
	refused := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.255",
		"169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.192", "192.0.2.1",
		"192.88.99.1", "192.168.0.1", "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "::127.0.0.1", "::7f00:1", "::8.8.8.8", "::ffff:127.0.0.1", "::ffff:7f00:1", "::FFFF:A9FE:A9FE",
		"::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "64:ff9b:1::8.8.8.8",
		"100::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:db8::1",
		"2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:808:808::1", "3fff::1",
		"fc00::1", "fd00:ec2::254", "FD00:EC2::254", "fe80::1", "febf::1", "ff02::1", "ff0e::1",
		"4000::1", "e000::1",
	}
	for _, a := range refused {
		if err := g.Check(netip.MustParseAddr(a)); !errors.Is(err, httpclient.ErrBlockedAddress) {
			t.Errorf("Check(%s): want blocked, have %v", a, err)
		}
	}
	for _, a := range []string{"::1%lo", "::1%1", "fe80::1%eth0", "2606:4700:4700::1111%eth0"} {
		for _, guard := range []*httpclient.Guard{g, wide} {
			err := guard.Check(netip.MustParseAddr(a))
			if !errors.Is(err, httpclient.ErrBlockedAddress) || !errors.Is(err, delivery.ErrZonedAddress) {
				t.Errorf("Check(%s): want zoned and blocked even when allowlisted, have %v", a, err)
			}
		}
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "192.0.1.1",
		"198.20.0.1", "223.255.255.254", "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8",
		"64:ff9b::8.8.8.8", "64:ff9b::808:808"} {
		if err := g.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("Check(%s): want allowed, have %v", a, err)
		}
	}
	if err := wide.Check(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("allowlisted loopback: %v", err)
	}
}

// loopbackReceivers listens on 127.0.0.1 and [::1] on one port where the
// system allows it, and counts every request either receives.
type loopbackReceivers struct {
	hits atomic.Int32
	port string
}

func newLoopbackReceivers(t *testing.T) *loopbackReceivers {
	t.Helper()
	r := &loopbackReceivers{}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	v4 := httptest.NewServer(h)
	t.Cleanup(v4.Close)
	_, r.port, _ = net.SplitHostPort(v4.Listener.Addr().String())
	l6, err := net.Listen("tcp6", "[::1]:"+r.port)
	if err != nil {
		t.Fatalf("listen on [::1]:%s: %v", r.port, err)
	}
	v6 := &httptest.Server{Listener: l6, Config: &http.Server{Handler: h}}
	v6.Start()
	t.Cleanup(v6.Close)
	return r
}

// loopbackForms are URL hosts that all reach a receiver on loopback (or
// 0.0.0.0/::, which Linux connects to loopback) when nothing refuses them.
var loopbackForms = []string{
	"127.0.0.1", "127.0.0.1.", "127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1",
	"0177.0.0.01", "0x7f.0.0.1", "127.000.000.001", "0", "0.0.0.0", "localhost", "localhost.", "LocalHost",
	"hooks.localhost", "１２７.０.０.１",
	"[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::FFFF:7F00:1]", "[::]",
	"[::1%25lo]", "[::1%251]", "[fe80::1%25lo]", "[::127.0.0.1]",
}

// undialable forms are refused, but even allowlisted they reach nothing:
// zoned ones are refused whatever the allowlist says, and Linux does not
// route IPv4-compatible addresses.
func undialable(host string) bool { return strings.Contains(host, "%25") || host == "[::127.0.0.1]" }

// TestClientRefusesEveryLoopbackForm: with no allowlist every form is
// classed blocked_address and the receivers see nothing; with everything
// allowlisted the same forms reach them (so the test is not vacuous),
// except the zoned ones, which are refused whatever the allowlist says.
func TestClientRefusesEveryLoopbackForm(t *testing.T) {
	rv := newLoopbackReceivers(t)
	closed := newClient(t, nil, net.DefaultResolver)
	open := newClient(t, []string{"0.0.0.0/0", "::/0"}, net.DefaultResolver)
	for _, host := range loopbackForms {
		t.Run(host, func(t *testing.T) {
			url := "http://" + host + ":" + rv.port + "/hook?token=s3cret"
			before := rv.hits.Load()
			r := closed.Do(context.Background(), delivery.Request{URL: url, Timeout: 2 * time.Second})
			if r.Class != delivery.ClassBlockedAddress {
				t.Fatalf("class: want %q, have %q (err %v)", delivery.ClassBlockedAddress, r.Class, r.Err)
			}
			if strings.Contains(r.Err.Error(), "s3cret") {
				t.Fatalf("error text carries the query token: %v", r.Err)
			}
			if rv.hits.Load() != before {
				t.Fatal("a refused destination was contacted")
			}
			if undialable(host) {
				if strings.Contains(host, "%25") {
					r = open.Do(context.Background(), delivery.Request{URL: url, Timeout: 2 * time.Second})
					if r.Class != delivery.ClassBlockedAddress {
						t.Fatalf("allowlisted zoned form: want %q, have %q (err %v)", delivery.ClassBlockedAddress, r.Class, r.Err)
					}
				}
				return
			}
			r = open.Do(context.Background(), delivery.Request{URL: url, Timeout: 2 * time.Second})
			if r.Err != nil || r.Status != http.StatusNoContent {
				t.Fatalf("allowlisted form not delivered: status %d, class %q, err %v", r.Status, r.Class, r.Err)
			}
			if rv.hits.Load() != before+1 {
				t.Fatalf("receiver hits: want %d, have %d", before+1, rv.hits.Load())
			}
		})
	}
}

// TestFailureTextCarriesNoURLSecret: net/http puts the whole URL in its
// errors; what the client returns names the endpoint without its query or
// user info, and still classifies.
func TestFailureTextCarriesNoURLSecret(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port nobody listens on: connection refused
	c := newClient(t, []string{"127.0.0.0/8"}, net.DefaultResolver)
	for _, url := range []string{
		"http://" + addr + "/hook?token=s3cret&sig=s3cret",
		"http://user:s3cret@" + addr + "/hook?token=s3cret",
		"http://" + addr + "/hook?token=s3cret%20x",
	} {
		r := c.Do(context.Background(), delivery.Request{URL: url, Timeout: 2 * time.Second})
		if r.Err == nil || r.Class != delivery.ClassConnectError {
			t.Fatalf("%s: want a connect error, have class %q err %v", url, r.Class, r.Err)
		}
		if msg := r.Err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "user") || !strings.Contains(msg, addr+"/hook") {
			t.Fatalf("failure text: want the endpoint without secrets, have %q", msg)
		}
	}
}
