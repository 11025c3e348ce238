// Package hookrec is the stored form of a policy hook: the Entry the hook
// stores keep (a hook and who made and last changed it), its record in the
// KV bucket ROSTER_POLICY_HOOKS with secret values sealed by the webhook
// Keyring (docs/adr/0055, 0087), and the errors every hook store returns.
// It does no I/O.
package hookrec

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Bucket is the KV bucket holding hooks, one key per hook id (public
// contract). Values carry signing secrets, sealed when a keyring is
// configured: roster-policy writes it, roster-groups only reads it.
const Bucket = "ROSTER_POLICY_HOOKS"

// Errors of a hook store (every implementation returns these, wrapped;
// compare with errors.Is).
var (
	ErrNotFound = errors.New("hook not found")
	ErrExists   = errors.New("hook already exists")
	// ErrContention: an update lost the compare-and-set race too often.
	ErrContention = errors.New("hook changed concurrently too often")
	// ErrNoChange may be returned by an update function to say the hook
	// is already as wanted; the store then writes nothing.
	ErrNoChange = errors.New("no change")
	// ErrNoKey: a record holds sealed secrets but the reader has no keyring.
	ErrNoKey = errors.New("hook secret is sealed but no webhook secret key is configured")
)

// Entry is one stored hook: the hook (secrets in plaintext, in memory
// only) and the actors of its creation and last change.
type Entry struct {
	Hook      hook.Hook
	CreatedBy string
	UpdatedBy string
}

// Clone returns a copy that shares no slice with e.
func (e Entry) Clone() Entry {
	e.Hook.Secrets = slices.Clone(e.Hook.Secrets)
	return e
}

// record is an Entry as the bucket holds it. The timeout is a Go duration
// string, as requests and replies write it, so the bucket reads the same.
type record struct {
	ID        string         `json:"id"`
	Command   string         `json:"command"`
	Callback  string         `json:"callback,omitempty"`
	URL       string         `json:"url"`
	Format    hook.Format    `json:"format"`
	Timeout   string         `json:"timeout"`
	OnFailure hook.OnFailure `json:"on_failure"`
	Secrets   []secret       `json:"secrets,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	CreatedBy string         `json:"created_by,omitempty"`
	UpdatedBy string         `json:"updated_by,omitempty"`
}

// secret is one signing secret at rest: Sealed with a keyring, or Value
// when the store has none (a warning says so at start).
type secret struct {
	Value  string `json:"value,omitempty"`
	Sealed string `json:"sealed,omitempty"`
}

// aad binds a sealed value to its hook: the keyring's additional data.
// Hook and endpoint ids are subject-safe (no ':'), so a secret sealed for
// an endpoint never opens as a hook's, nor the other way round.
func aad(id string) string { return "roster.policy.hook:" + id }

// Seal encodes e for the bucket, sealing every secret with keys (nil:
// stored as given).
func Seal(keys *endpoint.Keyring, e Entry) ([]byte, error) {
	h := e.Hook
	r := record{
		ID: h.ID, Command: h.Command, Callback: h.Callback, URL: h.URL, Format: h.Format,
		Timeout: h.Timeout.String(), OnFailure: h.OnFailure, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
		CreatedBy: e.CreatedBy, UpdatedBy: e.UpdatedBy,
	}
	for _, v := range h.Secrets {
		if keys == nil {
			r.Secrets = append(r.Secrets, secret{Value: v})
			continue
		}
		s, err := keys.Seal(aad(h.ID), v)
		if err != nil {
			return nil, fmt.Errorf("hook %q: %w", h.ID, err)
		}
		r.Secrets = append(r.Secrets, secret{Sealed: s})
	}
	return json.Marshal(r)
}

// Open decodes a record Seal wrote, opening its secrets with keys. A
// plaintext secret (written without a keyring) is read as it is, and
// legacy says so: the next write with a keyring seals it.
func Open(keys *endpoint.Keyring, b []byte) (e Entry, legacy bool, err error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return Entry{}, false, fmt.Errorf("decode hook: %w", err)
	}
	timeout, err := time.ParseDuration(r.Timeout)
	if err != nil {
		return Entry{}, false, fmt.Errorf("hook %q: timeout: %w", r.ID, err)
	}
	h := hook.Hook{
		ID: r.ID, Command: r.Command, Callback: r.Callback, URL: r.URL, Format: r.Format, Timeout: timeout,
		OnFailure: r.OnFailure, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, s := range r.Secrets {
		if s.Sealed == "" {
			legacy = legacy || s.Value != ""
			h.Secrets = append(h.Secrets, s.Value)
			continue
		}
		if keys == nil {
			return Entry{}, false, fmt.Errorf("hook %q: %w", r.ID, ErrNoKey)
		}
		v, err := keys.Open(aad(r.ID), s.Sealed)
		if err != nil {
			return Entry{}, false, fmt.Errorf("hook %q: %w", r.ID, err)
		}
		h.Secrets = append(h.Secrets, v)
	}
	return Entry{Hook: h, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy}, legacy, nil
}

// OpenWithoutSecrets decodes a record leaving its secrets out: what a
// reader that cannot open them still knows of the hook.
func OpenWithoutSecrets(b []byte) (Entry, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return Entry{}, fmt.Errorf("decode hook: %w", err)
	}
	r.Secrets = nil
	b, err := json.Marshal(r)
	if err != nil {
		return Entry{}, err
	}
	e, _, err := Open(nil, b)
	return e, err
}

// Less orders hooks as they are called: by creation time, then id (two
// hooks created in the same instant keep a stable order).
func Less(a, b hook.Hook) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// Records is how a hook store keeps entries (the Codec of package
// kvrecord, met here without importing it): keyed by hook id, encoded by
// Seal, decoded by Open, listed in call order (Less). Keys nil: secrets
// are stored as given.
type Records struct{ Keys *endpoint.Keyring }

// Noun names a hook in a store's error texts.
func (Records) Noun() string { return "hook" }

// Key is the hook's id.
func (Records) Key(e Entry) string { return e.Hook.ID }

// Encode seals e for the bucket.
func (r Records) Encode(e Entry) ([]byte, error) { return Seal(r.Keys, e) }

// Decode opens a stored entry. stale: it holds plaintext secrets and the
// store seals, so once rewritten its history must go.
func (r Records) Decode(b []byte) (Entry, bool, error) {
	e, legacy, err := Open(r.Keys, b)
	return e, legacy && r.Keys != nil, err
}

// Clone returns a copy of e sharing no slice with it.
func (Records) Clone(e Entry) Entry { return e.Clone() }

// Compare orders entries as their hooks are called.
func (Records) Compare(a, b Entry) int { return Less(a.Hook, b.Hook) }
