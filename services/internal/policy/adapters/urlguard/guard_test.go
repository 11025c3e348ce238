package urlguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/policy/adapters/urlguard"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
)

type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

func guard(t *testing.T, allow ...string) *urlguard.Guard {
	t.Helper()
	g, err := urlguard.New(urlguard.Config{Allow: allow, Resolver: resolver{
		"public.example.com": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1::1")},
		"mapped.example.com": {netip.MustParseAddr("::ffff:10.0.0.1")},
		"nat64.example.com":  {netip.MustParseAddr("64:ff9b::7f00:1")},
		"empty.example.com":  {},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Every form of a refused address is refused at registration, as the
// dialler refuses it at call time; the errors never quote the query.
func TestCheckURL(t *testing.T) {
	g := guard(t)
	for _, tc := range []struct {
		url     string
		blocked bool   // wraps httpclient.ErrBlockedAddress
		want    string // in the message; "" for success
	}{
		{url: "https://public.example.com/hook?token=s3cret"},
		{url: "https://93.184.216.34/hook"},
		{url: "http://[::1]/x", blocked: true, want: "::1"},
		{url: "http://[fe80::1%25eth0]/x", want: "url"},
		{url: "http://[::ffff:127.0.0.1]/x", want: "url"},
		{url: "https://mapped.example.com/x", blocked: true, want: "10.0.0.1"},
		{url: "https://nat64.example.com/x", blocked: true, want: "embeds"},
		{url: "http://127.0.0.1./x", want: "url"},
		{url: "http://0x7f.1/x", want: "url"},
		{url: "http://foo.localhost/x", blocked: true, want: "127.0.0.1"},
		{url: "http://[fd00:ec2::254]/latest", blocked: true, want: "fd00:ec2::254"},
		{url: "https://empty.example.com/x", want: "no addresses"},
		{url: "https://missing.example.com/x?token=s3cret", want: "does not resolve"},
		{url: "", want: "url: required"},
	} {
		err := g.CheckURL(context.Background(), tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: want allowed, have %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: want an error naming %q, have %v", tc.url, tc.want, err)
		case tc.blocked && !errors.Is(err, httpclient.ErrBlockedAddress):
			t.Errorf("%s: want ErrBlockedAddress, have %v", tc.url, err)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%s: the error quotes the query: %v", tc.url, err)
		}
	}
}

// The operator allowlist opens exactly its ranges.
func TestAllowlist(t *testing.T) {
	g := guard(t, "127.0.0.0/8", "::1/128")
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x"} {
		if err := g.CheckURL(context.Background(), u); err != nil {
			t.Errorf("%s: allowlisted, have %v", u, err)
		}
	}
	if err := g.CheckURL(context.Background(), "http://10.0.0.1/x"); !errors.Is(err, httpclient.ErrBlockedAddress) {
		t.Errorf("10.0.0.1 is not allowlisted: %v", err)
	}
	if _, err := urlguard.New(urlguard.Config{Allow: []string{"nope"}}); err == nil {
		t.Error("a bad allowlist entry was accepted")
	}
}
