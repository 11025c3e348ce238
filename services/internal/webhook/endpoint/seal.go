package endpoint

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// KeySize is the length of a secret key: AES-256.
const KeySize = 32

// sealedPrefix starts every sealed secret value: "v1:<key id>:<base64 of
// nonce || AES-256-GCM ciphertext>".
const sealedPrefix = "v1:"

// Sentinel errors of the keyring.
var (
	// ErrUnknownKey: a sealed secret names a key the keyring does not hold
	// (it was sealed with a key since dropped from the old keys).
	ErrUnknownKey = errors.New("webhook secret sealed with an unknown key")
	// ErrBadKey: key material that is not 32 bytes of base64 or hex.
	ErrBadKey = errors.New("webhook secret key must be 32 bytes, base64 or hex encoded")
)

// Keyring seals endpoint secrets before they reach the KV bucket and opens
// them after. The current key seals; the current and every old key open,
// so keys rotate without a migration: records sealed with an old key are
// re-sealed with the current one on their next write.
type Keyring struct {
	current string // key id
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a keyring from raw 32-byte keys: current seals, old
// ones only open.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("key %d: %w", i, ErrBadKey)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// KeyID names a key without revealing it: the first 8 bytes of the
// SHA-256 of a domain-separated hash, hex.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("roster webhook secret key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// CurrentKeyID is the id of the key that seals.
func (k *Keyring) CurrentKeyID() string { return k.current }

// ParseKey decodes key material (a file's content or an environment
// variable): 32 bytes as standard or URL-safe base64, or as hex; the
// surrounding whitespace is ignored.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, ErrBadKey
}

// ReadKeyFile reads a key from a file.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("webhook secret key file %s: %w", path, err)
	}
	return key, nil
}

// GenerateKey returns a new random key, base64 encoded.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate webhook secret key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Seal encrypts a secret value for the endpoint id. The id is the
// additional data: a sealed value copied into another endpoint's record
// does not open there.
func (k *Keyring) Seal(endpointID, value string) (string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal webhook secret: %w", err)
	}
	ct := aead.Seal(nonce, nonce, []byte(value), []byte(endpointID))
	return sealedPrefix + k.current + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value Seal wrote.
func (k *Keyring) Open(endpointID, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	id, b64, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", errors.New("open webhook secret: not a sealed value")
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("open webhook secret (key %s): %w", id, ErrUnknownKey)
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(ct) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("open webhook secret: malformed sealed value")
	}
	plain, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(endpointID))
	if err != nil {
		return "", fmt.Errorf("open webhook secret (key %s): authentication failed", id)
	}
	return string(plain), nil
}

// OpenRecord decodes a stored endpoint record, opening sealed secrets with
// keys. A plaintext secret (a record written before a key was configured)
// is read as it is, and legacy says so: the next write seals it.
func OpenRecord(keys *Keyring, b []byte) (e Endpoint, legacy bool, err error) {
	if err := json.Unmarshal(b, &e); err != nil {
		return e, false, fmt.Errorf("decode endpoint: %w", err)
	}
	for i := range e.Secrets {
		sec := &e.Secrets[i]
		if sec.Sealed == "" {
			legacy = legacy || sec.Value != ""
			continue
		}
		if keys == nil {
			return Endpoint{}, false, fmt.Errorf("endpoint %q: %w", e.ID, ErrNoKey)
		}
		v, err := keys.Open(e.ID, sec.Sealed)
		if err != nil {
			return Endpoint{}, false, fmt.Errorf("endpoint %q: %w", e.ID, err)
		}
		sec.Value, sec.Sealed = v, ""
	}
	return e, legacy, nil
}

// SealRecord encodes an endpoint for storage, sealing every secret value
// with keys (nil: stored as given).
func SealRecord(keys *Keyring, e Endpoint) ([]byte, error) {
	if keys != nil {
		e.Secrets = slices.Clone(e.Secrets)
		for i := range e.Secrets {
			sec := &e.Secrets[i]
			if sec.Value == "" {
				continue
			}
			sealed, err := keys.Seal(e.ID, sec.Value)
			if err != nil {
				return nil, err
			}
			sec.Sealed, sec.Value = sealed, ""
		}
	}
	return json.Marshal(e)
}

// Records is how an endpoint store keeps endpoints (the Codec of package
// kvrecord, met here without importing it): keyed by id, encoded by
// SealRecord, decoded by OpenRecord, listed by id. Keys nil: secrets are
// stored as given.
type Records struct{ Keys *Keyring }

// Noun names an endpoint in a store's error texts.
func (Records) Noun() string { return "endpoint" }

// Key is the endpoint's id.
func (Records) Key(e Endpoint) string { return e.ID }

// Encode seals e for storage.
func (r Records) Encode(e Endpoint) ([]byte, error) { return SealRecord(r.Keys, e) }

// Decode opens a stored endpoint. stale: it holds plaintext secrets and
// the store seals, so once rewritten its history must go.
func (r Records) Decode(b []byte) (Endpoint, bool, error) {
	e, legacy, err := OpenRecord(r.Keys, b)
	return e, legacy && r.Keys != nil, err
}

// Clone returns a copy of e sharing no secret slice with it.
func (Records) Clone(e Endpoint) Endpoint {
	e.Secrets = slices.Clone(e.Secrets)
	return e
}

// Compare orders endpoints by id.
func (Records) Compare(a, b Endpoint) int { return strings.Compare(a.ID, b.ID) }
