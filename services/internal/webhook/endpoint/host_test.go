package endpoint_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// TestValidateURLHostForms: an IP literal host is accepted only in its
// canonical form; names and canonical literals pass (whether they may be
// dialled is the delivery guard's call, against the allowlist).
func TestValidateURLHostForms(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"https://hooks.example.com/x", ""},
		{"https://hooks.example.com./x", ""},
		{"http://127.0.0.1:8080/x", ""},
		{"http://10.0.0.1/x", ""},
		{"http://[::1]:8080/x", ""},
		{"http://[::ffff:127.0.0.1]/x", ""},
		{"http://[64:ff9b::7f00:1]/x", ""},
		{"http://localhost:8080/x", ""},
		{"http://xn--bcher-kva.example/x", ""},
		{"http://[::1%25lo]:8080/x", "zoned"},
		{"http://[::1%251]/x", "zoned"},
		{"http://[fe80::1%25eth0]/x", "zoned"},
		{"http://127.1/x", "write it as 127.0.0.1"},
		{"http://127.0.1/x", "write it as 127.0.0.1"},
		{"http://2130706433/x", "write it as 127.0.0.1"},
		{"http://0x7f000001/x", "write it as 127.0.0.1"},
		{"http://0X7F000001/x", "write it as 127.0.0.1"},
		{"http://0177.0.0.1/x", "write it as 127.0.0.1"},
		{"http://127.000.000.001/x", "write it as 127.0.0.1"},
		{"http://127.0.0.1./x", "write it as 127.0.0.1"},
		{"http://0/x", "write it as 0.0.0.0"},
		{"http://169.254.43518/x", "write it as 169.254.169.254"},
		{"http://127.0.0.256/x", "not an IPv4 address"},
		{"http://08.0.0.1/x", "not an IPv4 address"},
		{"http://hooks.123/x", "not an IPv4 address"},
		{"http://１２７.０.０.１/x", "ASCII"},
		{"http://bücher.example/x", "ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := endpoint.ValidateURL(tt.url)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("want valid, have %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("want an error containing %q, have %v", tt.wantErr, err)
			}
		})
	}
}

// TestForAuditDropsURLSecrets: endpoint-change rows carry neither signing
// secrets nor the URL's query, fragment or user info.
func TestForAuditDropsURLSecrets(t *testing.T) {
	e := valid(t)
	e.URL = "https://hooks.example.com/x?token=s3cret#frag"
	a := e.ForAudit()
	if a.URL != "https://hooks.example.com/x" {
		t.Fatalf("url: want the query dropped, have %q", a.URL)
	}
	for _, s := range a.Secrets {
		if s.Value != "" {
			t.Fatal("a signing secret survived")
		}
	}
	if e.URL != "https://hooks.example.com/x?token=s3cret#frag" || e.Secrets[0].Value == "" {
		t.Fatal("ForAudit changed its receiver")
	}
}
