package endpoint_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func TestParseKey(t *testing.T) {
	ks, err := endpoint.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := endpoint.ParseKey(ks)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k) + "\n", fmt.Sprintf("%x", k)} {
		got, err := endpoint.ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(k[:16])} {
		if _, err := endpoint.ParseKey(s); !errors.Is(err, endpoint.ErrBadKey) {
			t.Errorf("ParseKey(%q): %v, want ErrBadKey", s, err)
		}
	}
	if _, err := endpoint.NewKeyring(k[:31]); !errors.Is(err, endpoint.ErrBadKey) {
		t.Errorf("NewKeyring(31 bytes): %v", err)
	}
}
