package delivery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SecretPrefix starts every Standard Webhooks secret.
const SecretPrefix = "whsec_"

// ErrInvalidSecret means a secret is not whsec_ + base64 of 24..64 bytes.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// GenerateSecret returns a new whsec_ secret of 32 random bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret returns a secret's key bytes. Errors never quote the secret.
func ParseSecret(s string) ([]byte, error) {
	if !strings.HasPrefix(s, SecretPrefix) {
		return nil, fmt.Errorf("%w: must start with %q", ErrInvalidSecret, SecretPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrInvalidSecret)
	}
	if len(b) < 24 || len(b) > 64 {
		return nil, fmt.Errorf("%w: key is %d bytes, want 24..64", ErrInvalidSecret, len(b))
	}
	return b, nil
}

// Sign returns the webhook-signature header value: one "v1,<base64>"
// HMAC-SHA256 of "{id}.{timestamp}.{body}" per key, space-separated, so a
// receiver holding either the old or the new secret during a rotation
// verifies.
func Sign(id string, ts time.Time, body []byte, keys [][]byte) string {
	out := make([]byte, 0, len(keys)*sigLen)
	for i, k := range keys {
		m := keyedMAC{h: hmac.New(sha256.New, k)}
		out = m.sign(out, i > 0, id, ts, body)
	}
	return string(out)
}

// Signer signs with one endpoint's active keys, as Sign does, reusing each
// key's HMAC: hmac.New hashes the key into fresh inner and outer SHA-256
// states and allocates them, for every request, where a reset HMAC starts
// from the states it saved. A keyed HMAC is never shared: each goroutine
// signing takes one from its key's pool for the length of one signature
// and resets it before giving it back (ADR 0115). A Signer is safe for
// concurrent use; it holds key material, so it is never logged.
type Signer struct {
	pools []*sync.Pool // of *keyedMAC, one pool per key
}

// NewSigner returns a Signer for keys (newest first, as
// endpoint.Endpoint.ActiveKeys lists them). It copies the keys.
func NewSigner(keys [][]byte) *Signer {
	s := &Signer{pools: make([]*sync.Pool, len(keys))}
	for i, k := range keys {
		k := append([]byte(nil), k...)
		s.pools[i] = &sync.Pool{New: func() any { return &keyedMAC{h: hmac.New(sha256.New, k)} }}
	}
	return s
}

// Keys is how many keys s signs with.
func (s *Signer) Keys() int { return len(s.pools) }

// Sign returns the webhook-signature header value Sign returns for the
// Signer's keys.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	out := make([]byte, 0, len(s.pools)*sigLen)
	for i, p := range s.pools {
		m := p.Get().(*keyedMAC)
		out = m.sign(out, i > 0, id, ts, body)
		m.h.Reset()
		p.Put(m)
	}
	return string(out)
}

// sigLen is one signature's length: "v1," + base64 of 32 bytes + a space.
const sigLen = 3 + 44 + 1

// keyedMAC is one key's HMAC-SHA256 and the scratch space of a signature.
type keyedMAC struct {
	h   hash.Hash
	buf []byte // the signed content's "{id}.{timestamp}." prefix, then the sum
}

// sign appends "v1,<base64>" of the HMAC of "{id}.{timestamp}.{body}" to
// out (after a space when sep), feeding the body without copying it. m.h
// must be fresh or reset.
func (m *keyedMAC) sign(out []byte, sep bool, id string, ts time.Time, body []byte) []byte {
	m.buf = append(m.buf[:0], id...)
	m.buf = append(m.buf, '.')
	m.buf = strconv.AppendInt(m.buf, ts.Unix(), 10)
	m.buf = append(m.buf, '.')
	m.h.Write(m.buf)
	m.h.Write(body)
	m.buf = m.h.Sum(m.buf[:0])
	if sep {
		out = append(out, ' ')
	}
	out = append(out, "v1,"...)
	return base64.StdEncoding.AppendEncode(out, m.buf)
}

// MessageID is the stable webhook-id of one event delivered to one
// endpoint: the same for every attempt and every redelivery, distinct per
// endpoint, so receivers can deduplicate on it.
func MessageID(endpointID, eventID string) string {
	sum := sha256.Sum256([]byte(endpointID + "\x00" + eventID))
	return "msg_" + hex.EncodeToString(sum[:16])
}
