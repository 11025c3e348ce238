package hookrec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// A sealed secret is bound to its hook: copied into another hook's record
// (or an endpoint's, which shares the keyring) it does not open.
func TestSealedSecretBoundToItsHook(t *testing.T) {
	keys := hooktest.Keyring(t)
	a := hooktest.Valid(t, "a", "member.invite")
	b, err := hookrec.Seal(keys, a)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(a.Hook.Secrets[0])) {
		t.Fatalf("sealed record holds the secret: %s", b)
	}
	got, legacy, err := hookrec.Open(keys, b)
	if err != nil || legacy || got.Hook.Secrets[0] != a.Hook.Secrets[0] || got.Hook.Timeout != a.Hook.Timeout || got.CreatedBy != "ops" {
		t.Fatalf("open: %+v legacy %v, %v", got, legacy, err)
	}
	moved := bytes.Replace(b, []byte(`"id":"a"`), []byte(`"id":"b"`), 1)
	if _, _, err := hookrec.Open(keys, moved); err == nil {
		t.Fatal("a secret sealed for hook a opened as hook b's")
	}
	sealed, err := keys.Seal("a", a.Hook.Secrets[0]) // as an endpoint "a" would seal it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Open("roster.policy.hook:a", sealed); err == nil {
		t.Fatal("an endpoint's sealed secret opened as a hook's")
	}
	if _, _, err := hookrec.Open(nil, b); !errors.Is(err, hookrec.ErrNoKey) {
		t.Fatalf("open without a key: want ErrNoKey, have %v", err)
	}
	other := hooktest.Keyring(t)
	if _, _, err := hookrec.Open(other, b); !errors.Is(err, endpoint.ErrUnknownKey) {
		t.Fatalf("open with another key: want ErrUnknownKey, have %v", err)
	}
	e, err := hookrec.OpenWithoutSecrets(b)
	if err != nil || e.Hook.ID != "a" || len(e.Hook.Secrets) != 0 {
		t.Fatalf("open without secrets: %+v %v", e, err)
	}
}
