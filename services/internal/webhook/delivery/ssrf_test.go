package delivery_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		host      string
		want      string // "" for a host name
		canonical bool
		wantErr   bool
	}{
		{host: "127.0.0.1", want: "127.0.0.1", canonical: true},
		{host: "127.0.0.1.", want: "127.0.0.1"},
		{host: "127.1", want: "127.0.0.1"},
		{host: "127.0.1", want: "127.0.0.1"},
		{host: "2130706433", want: "127.0.0.1"},
		{host: "0x7f000001", want: "127.0.0.1"},
		{host: "0X7F000001", want: "127.0.0.1"},
		{host: "0x7F.1", want: "127.0.0.1"},
		{host: "0177.0.0.1", want: "127.0.0.1"},
		{host: "0177.0.0.01", want: "127.0.0.1"},
		{host: "127.000.000.001", want: "127.0.0.1"},
		{host: "0x7f.0x0.0x0.0x1", want: "127.0.0.1"},
		{host: "0", want: "0.0.0.0"},
		{host: "0x", want: "0.0.0.0"},
		{host: "169.254.43518", want: "169.254.169.254"},
		{host: "0xa9fea9fe", want: "169.254.169.254"},
		{host: "10.1", want: "10.0.0.1"},
		{host: "8.8.8.8", want: "8.8.8.8", canonical: true},
		{host: "::1", want: "::1", canonical: true},
		{host: "[::1]", want: "::1", canonical: true},
		{host: "::1%lo", want: "::1%lo"},
		{host: "[fe80::1%eth0]", want: "fe80::1%eth0"},
		{host: "::FFFF:7F00:1", want: "::ffff:127.0.0.1", canonical: true},
		{host: "example.com", want: ""},
		{host: "example.com.", want: ""},
		{host: "localhost", want: ""},
		{host: "1.example", want: ""},
		{host: "0xg", want: ""},
		{host: "127.0.0.256", wantErr: true},
		{host: "4294967296", wantErr: true},
		{host: "08.0.0.1", wantErr: true},
		{host: "1.2.3.4.5", wantErr: true},
		{host: "example.123", wantErr: true},
		{host: "::1::2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			h, lit, err := delivery.ParseHost(tt.host)
			if (err != nil) != tt.wantErr {
				t.Fatalf("want error %v, have %v", tt.wantErr, err)
			}
			if tt.wantErr {
				return
			}
			if lit != (tt.want != "") {
				t.Fatalf("literal: want %v, have %v", tt.want != "", lit)
			}
			if !lit {
				return
			}
			if have := h.Addr.String(); have != tt.want {
				t.Fatalf("address: want %s, have %s", tt.want, have)
			}
			if h.Canonical != tt.canonical {
				t.Fatalf("canonical: want %v, have %v", tt.canonical, h.Canonical)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.example/x?token=abc&b=1", "https://hooks.example/x"},
		{"https://u:p@hooks.example/x?token=abc#frag", "https://hooks.example/x"},
		{"https://hooks.example/x?", "https://hooks.example/x"},
		{"https://hooks.example/x", "https://hooks.example/x"},
		{"://bad", ""},
	}
	for _, tt := range tests {
		if have := delivery.RedactURL(tt.in); have != tt.want {
			t.Errorf("RedactURL(%q): want %q, have %q", tt.in, tt.want, have)
		}
	}
}
