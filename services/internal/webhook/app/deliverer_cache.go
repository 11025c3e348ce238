package app

import (
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// signerCache keeps the Signer of one endpoint's active secrets, made
// anew whenever that set changes (a rotation adds a secret, an expiry
// drops one): parsing the secrets and keying an HMAC on every request
// cost more than signing the body (ADR 0115). Guarded by Deliverer.mu.
type signerCache struct {
	secrets []string // the active secrets' values, in the endpoint's order
	signer  *delivery.Signer
}

// signer returns the Signer of ep's secrets active at now.
func (d *Deliverer) signer(ep endpoint.Endpoint, now time.Time) *delivery.Signer {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := &d.signers
	if c.signer != nil && sameActive(c.secrets, ep.Secrets, now) {
		return c.signer
	}
	c.secrets = c.secrets[:0]
	for _, s := range ep.Secrets {
		if active(s, now) {
			c.secrets = append(c.secrets, s.Value)
		}
	}
	c.signer = delivery.NewSigner(ep.ActiveKeys(now))
	return c.signer
}

// active is endpoint.Endpoint.ActiveKeys' rule for one secret, bar the
// parse: a secret that does not parse changes nothing, since ActiveKeys
// skips it whenever the Signer is made.
func active(s endpoint.Secret, now time.Time) bool {
	return s.ExpiresAt == nil || now.Before(*s.ExpiresAt)
}

// sameActive reports whether the secrets of ss active at now are, in
// order, the values in cached.
func sameActive(cached []string, ss []endpoint.Secret, now time.Time) bool {
	n := 0
	for _, s := range ss {
		if !active(s, now) {
			continue
		}
		if n == len(cached) || cached[n] != s.Value {
			return false
		}
		n++
	}
	return n == len(cached)
}

// redactedURL is delivery.RedactURL(raw), parsed once per endpoint URL
// rather than once per attempt. Guarded by Deliverer.mu.
type redactedURL struct{ raw, redacted string }

func (d *Deliverer) redactURL(raw string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.redacted.raw != raw || d.redacted.redacted == "" {
		d.redacted = redactedURL{raw: raw, redacted: delivery.RedactURL(raw)}
	}
	return d.redacted.redacted
}
