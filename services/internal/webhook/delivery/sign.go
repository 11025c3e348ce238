package delivery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	content := []byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + ".")
	content = append(content, body...)
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(content)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// MessageID is the stable webhook-id of one event delivered to one
// endpoint: the same for every attempt and every redelivery, distinct per
// endpoint, so receivers can deduplicate on it.
func MessageID(endpointID, eventID string) string {
	sum := sha256.Sum256([]byte(endpointID + "\x00" + eventID))
	return "msg_" + hex.EncodeToString(sum[:16])
}
