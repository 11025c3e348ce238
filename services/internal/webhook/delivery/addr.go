package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrZonedAddress means a host is an IPv6 literal with a zone ("::1%lo",
// "fe80::1%eth0"). A zone names a local interface; no address a webhook
// receiver may have needs one, and a zoned address is not contained in any
// prefix, so it would slip past every range check. Zoned literals are
// refused whatever the allowlist says.
var ErrZonedAddress = errors.New("zoned IPv6 addresses are not allowed")

// HostAddr is how a URL host reads when it is an IP address literal.
type HostAddr struct {
	// Addr is the address the host denotes, as a resolver reads it: zone
	// kept (the guard refuses it), IPv4-mapped forms not yet unwrapped.
	Addr netip.Addr
	// Canonical is true when the host is written the one way every parser
	// agrees on: a dotted quad of decimal octets without leading zeros or
	// trailing dot, or an IPv6 literal without zone.
	Canonical bool
}

// ParseHost reports whether host (a URL host without port, brackets
// allowed) is an IP address literal in any form a resolver accepts, and
// which address it denotes. Beyond the canonical forms that means what
// inet_aton(3), getaddrinfo(3) and the WHATWG URL parser accept: one to
// four dot-separated parts, each decimal, octal (leading 0) or hex (0x),
// the last filling the remaining bytes ("127.1", "2130706433",
// "0x7f000001", "0177.0.0.1"), and one trailing dot. ok is false for a
// host name; err is set for a host that is clearly meant as a literal but
// does not parse (an IPv6 literal with a syntax error, or a numeric last
// label out of range: WHATWG refuses those rather than resolve them).
func ParseHost(host string) (h HostAddr, ok bool, err error) {
	s := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.ContainsAny(s, ":%") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return HostAddr{}, false, fmt.Errorf("host %q: not an IPv6 address: %w", host, err)
		}
		return HostAddr{Addr: a, Canonical: a.Zone() == ""}, true, nil
	}
	trimmed := strings.TrimSuffix(s, ".")
	parts := strings.Split(trimmed, ".")
	if !numericPart(parts[len(parts)-1]) {
		return HostAddr{}, false, nil
	}
	a, perr := parseIPv4Loose(parts)
	if perr != nil {
		return HostAddr{}, false, fmt.Errorf("host %q: ends in a number but is not an IPv4 address: %w", host, perr)
	}
	return HostAddr{Addr: a, Canonical: trimmed == s && a.String() == s}, true, nil
}

// numericPart reports whether a label is a number in the inet_aton sense
// (decimal digits, or 0x followed by hex digits): a host whose last label
// is numeric is an IPv4 literal (WHATWG's "ends in a number").
func numericPart(p string) bool {
	if p == "" {
		return false
	}
	if len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') {
		for _, c := range p[2:] {
			if !isHex(c) {
				return false
			}
		}
		return true
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(c rune) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// parseIPv4Loose parses inet_aton's forms: a, a.b (b 24 bits), a.b.c (c
// 16 bits), a.b.c.d; each part decimal, 0-prefixed octal or 0x hex.
func parseIPv4Loose(parts []string) (netip.Addr, error) {
	if len(parts) > 4 {
		return netip.Addr{}, fmt.Errorf("%d parts, at most 4", len(parts))
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := parseIPv4Part(p)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("part %d %q: %w", i+1, p, err)
		}
		vals[i] = v
	}
	last := len(vals) - 1
	var n uint64
	for i := range last {
		if vals[i] > 0xff {
			return netip.Addr{}, fmt.Errorf("part %d is %d, above 255", i+1, vals[i])
		}
		n = n<<8 | vals[i]
	}
	restBits := uint(8 * (4 - last))
	if vals[last] >= 1<<restBits {
		return netip.Addr{}, fmt.Errorf("last part %d does not fit in %d bits", vals[last], restBits)
	}
	n = n<<restBits | vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), nil
}

func parseIPv4Part(p string) (uint64, error) {
	base, digits := 10, p
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, digits = 16, p[2:]
		if digits == "" {
			return 0, nil // "0x" is 0 to inet_aton and WHATWG alike
		}
	case len(p) > 1 && p[0] == '0':
		base, digits = 8, p[1:]
	case p == "":
		return 0, errors.New("empty")
	}
	// 2^32 fits any single part; larger is refused, not wrapped.
	v, err := strconv.ParseUint(digits, base, 33)
	if err != nil {
		return 0, errors.New("not a number in its base, or too large")
	}
	return v, nil
}
