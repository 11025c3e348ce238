package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// ErrBlockedAddress means the destination resolves only to addresses the
// guard refuses (loopback, private, link-local, CGNAT, unique-local,
// metadata, ...) and no operator allowlist names them.
var ErrBlockedAddress = errors.New("destination address is not allowed")

// DNSError wraps a failed name resolution so it classifies as dns_error.
type DNSError struct {
	Host string
	Err  error
}

func (e *DNSError) Error() string { return "resolve " + e.Host + ": " + e.Err.Error() }
func (e *DNSError) Unwrap() error { return e.Err }

// Only global unicast passes without an allowlist: IPv4 that
// netip.Addr.IsGlobalUnicast accepts and IPv6 in 2000::/3, the only space
// IANA allocates for global unicast, minus blockedPrefixes, the special-use
// ranges inside those (RFC 6890 and successors). An address that is not on
// the public internet is not a webhook receiver's.
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8",       // "this network", 0.0.0.0 reaches local services
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // CGNAT (also Alibaba's metadata 100.100.100.200)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local (cloud metadata 169.254.169.254)
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments (incl. Oracle's 192.0.0.192 metadata)
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, broadcast
	"::/96",           // unspecified, loopback, IPv4-compatible (deprecated; ::127.0.0.1)
	"::ffff:0:0:0/96", // IPv4-translated (SIIT)
	"64:ff9b:1::/48",  // local-use NAT64: translated by a local gateway we cannot vet
	"100::/64",        // discard
	"2001::/23",       // IETF protocol assignments: Teredo (embeds an obfuscated IPv4), benchmarking, ORCHID
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4 (deprecated, RFC 7526): embeds an IPv4 address
	"3fff::/20",       // documentation (RFC 9637)
	"fc00::/7",        // unique-local (AWS metadata fd00:ec2::254)
	"fe80::/10",       // link-local
	"ff00::/8",        // multicast
)

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	// nat64 is the well-known NAT64 prefix (RFC 6052): DNS64 on an
	// IPv6-only network synthesises 64:ff9b::<v4> for every IPv4-only
	// host, so it is vetted by the IPv4 address it embeds.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Resolver is the part of *net.Resolver the guard uses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// GuardConfig configures the SSRF guard.
type GuardConfig struct {
	// Allow lists CIDRs that may be dialled although they are in a blocked
	// range (the operator allowlist; the dev stack names loopback).
	Allow []string
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// ConnectTimeout bounds each TCP connect (default 5s).
	ConnectTimeout time.Duration
}

func (c *GuardConfig) setDefaults() {
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
}

// Validate reports every problem with c.
func (c GuardConfig) Validate() error {
	var errs []error
	for _, a := range c.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			errs = append(errs, fmt.Errorf("allow %q: %w", a, err))
		}
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, errors.New("connect timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Guard resolves destinations, vets every address after resolution, and
// dials only a vetted address, so a DNS answer cannot change between the
// check and the connection (no rebinding window).
type Guard struct {
	allow    []netip.Prefix
	resolver Resolver
	dialer   net.Dialer
}

// NewGuard builds a Guard.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ssrf guard config: %w", err)
	}
	g := &Guard{resolver: cfg.Resolver, dialer: net.Dialer{Timeout: cfg.ConnectTimeout}}
	for _, a := range cfg.Allow {
		g.allow = append(g.allow, netip.MustParsePrefix(a).Masked())
	}
	return g, nil
}

// Check returns nil when addr may be dialled, or an error wrapping
// ErrBlockedAddress. It sees through every form an address can take: a
// zoned address is refused (delivery.ErrZonedAddress), an IPv4-mapped one is its
// IPv4 address, a NAT64 one is vetted by the IPv4 address it embeds.
// Textual forms (numeric IPv4, trailing dots) are delivery.ParseHost's job.
func (g *Guard) Check(addr netip.Addr) error {
	if !addr.IsValid() {
		return fmt.Errorf("invalid address: %w", ErrBlockedAddress)
	}
	if addr.Zone() != "" {
		return fmt.Errorf("%s: %w: %w", addr, delivery.ErrZonedAddress, ErrBlockedAddress)
	}
	addr = addr.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, p := range g.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	if nat64.Contains(addr) {
		b := addr.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		if err := g.Check(v4); err != nil {
			return fmt.Errorf("%s embeds %w", addr, err)
		}
		return nil
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return fmt.Errorf("%s is in %s: %w", addr, p, ErrBlockedAddress)
		}
	}
	if !addr.IsGlobalUnicast() || (addr.Is6() && !globalUnicast6.Contains(addr)) {
		return fmt.Errorf("%s is not a global unicast address: %w", addr, ErrBlockedAddress)
	}
	return nil
}

// DialContext is an http.Transport dialer: it resolves address's host,
// drops refused addresses and connects to the first allowed one that
// answers.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portS, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portS, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portS, err)
	}
	var addrs []netip.Addr
	lit, isLit, err := delivery.ParseHost(host)
	switch {
	case err != nil:
		// Meant as a literal but not one: refusing it keeps a resolver
		// that reads it some other way from ever seeing it.
		return nil, fmt.Errorf("%w: %w", err, ErrBlockedAddress)
	case isLit:
		addrs = []netip.Addr{lit.Addr}
	case isLocalhost(host):
		// RFC 6761: localhost names are loopback whatever DNS or a
		// resolver's configuration says; no query leaves the host.
		addrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	default:
		addrs, err = g.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, &DNSError{Host: host, Err: err}
		}
		if len(addrs) == 0 {
			return nil, &DNSError{Host: host, Err: errors.New("no addresses")}
		}
	}
	var blocked, dialErrs []error
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			blocked = append(blocked, err)
			continue
		}
		conn, err := g.dialer.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		dialErrs = append(dialErrs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(dialErrs) > 0 {
		// Some address was allowed: the failure is the connection's, not
		// the guard's.
		return nil, errors.Join(dialErrs...)
	}
	return nil, errors.Join(blocked...)
}

// isLocalhost reports whether host is "localhost" or a name under it, with
// or without the trailing dot, in any case.
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
