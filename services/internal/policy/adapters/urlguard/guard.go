// Package urlguard vets a policy hook's URL at registration with the
// webhook dispatcher's SSRF guard (webhook/adapters/httpclient): the URL's
// shape as an endpoint URL's (endpoint.ValidateURL), and every address its
// host resolves to, against the same blocked ranges and the same operator
// allowlist (--webhook-allow-cidr). The caller of hooks applies the guard
// again at every call, after its own resolution (docs/adr/0088).
package urlguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Config configures a Guard.
type Config struct {
	// Allow lists CIDRs that may be called although they are in a blocked
	// range (the operator allowlist, as the dispatcher's).
	Allow []string
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver httpclient.Resolver
	// LookupTimeout bounds the resolution (default 5s).
	LookupTimeout time.Duration
}

// Guard implements app.URLGuard.
type Guard struct {
	guard    *httpclient.Guard
	resolver httpclient.Resolver
	timeout  time.Duration
}

// New builds a Guard; a bad allowlist entry fails here.
func New(cfg Config) (*Guard, error) {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.LookupTimeout == 0 {
		cfg.LookupTimeout = 5 * time.Second
	}
	g, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: cfg.Allow, Resolver: cfg.Resolver})
	if err != nil {
		return nil, err
	}
	return &Guard{guard: g, resolver: cfg.Resolver, timeout: cfg.LookupTimeout}, nil
}

// CheckURL returns nil when every address raw's host stands for may be
// called. It is stricter than the dialler, which skips refused addresses
// and calls an allowed one: a name that resolves to a private address
// beside public ones is refused here, as a rebinding setup would look.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	if err := endpoint.ValidateURL(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url: not a valid URL")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	lit, isLit, err := delivery.ParseHost(host)
	switch {
	case err != nil:
		return fmt.Errorf("url: %w", err)
	case isLit:
		addrs = []netip.Addr{lit.Addr}
	case isLocalhost(host):
		// RFC 6761, as the dialler: loopback whatever DNS says.
		addrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	default:
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		addrs, err = g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return fmt.Errorf("url: host %q does not resolve: %w", host, err)
		}
		if len(addrs) == 0 {
			return fmt.Errorf("url: host %q has no addresses", host)
		}
	}
	for _, a := range addrs {
		if err := g.guard.Check(a); err != nil {
			return fmt.Errorf("url: host %q: %w (an operator may allow the range with --webhook-allow-cidr)", host, err)
		}
	}
	return nil
}

func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
