package natsx_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/natsx"
)

// authServer runs a NATS server that wants user "svc" with password pw.
func authServer(t *testing.T, pw string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, Username: "svc", Password: pw, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

func TestConnectWithPasswordFromFileOrConfig(t *testing.T) {
	const pw = "s3cret-Pa55"
	s := authServer(t, pw)
	file := filepath.Join(t.TempDir(), "nats-password")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]natsx.ClientConfig{
		"password file": {URL: s.ClientURL(), User: "svc", PasswordFile: file},
		"password":      {URL: s.ClientURL(), User: "svc", Password: pw},
	} {
		t.Run(name, func(t *testing.T) {
			nc, err := natsx.Connect(cfg)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			nc.Close()
		})
	}
}

// TestConnectErrorsCarryNoPassword: a failed connect names the server but
// never the password, whichever way it was given.
func TestConnectErrorsCarryNoPassword(t *testing.T) {
	const pw = "s3cret-Pa55"
	s := authServer(t, pw)
	host := strings.TrimPrefix(s.ClientURL(), "nats://")
	wrong := "wr0ng-Pa55"
	file := filepath.Join(t.TempDir(), "nats-password")
	if err := os.WriteFile(file, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    natsx.ClientConfig
		secret string
	}{
		{"wrong password in url", natsx.ClientConfig{URL: "nats://svc:" + wrong + "@" + host}, wrong},
		{"wrong token in url", natsx.ClientConfig{URL: "nats://" + wrong + "@" + host}, wrong},
		{"wrong password in url list", natsx.ClientConfig{URL: "nats://svc:" + wrong + "@" + host + ",nats://svc:" + wrong + "@127.0.0.1:1"}, wrong},
		{"no server behind url", natsx.ClientConfig{URL: "nats://svc:" + pw + "@127.0.0.1:1"}, pw},
		{"wrong password from file", natsx.ClientConfig{URL: s.ClientURL(), User: "svc", PasswordFile: file}, wrong},
		{"wrong password given", natsx.ClientConfig{URL: s.ClientURL(), User: "svc", Password: wrong}, wrong},
		{"unparsable url", natsx.ClientConfig{URL: "nats://svc:" + pw + "@127.0.0.1:bad port"}, pw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := natsx.Connect(tt.cfg)
			if err == nil {
				nc.Close()
				t.Fatal("connected with wrong credentials")
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("error text carries the secret: %v", err)
			}
			if !strings.Contains(err.Error(), "connect to nats at") {
				t.Fatalf("error does not say what failed: %v", err)
			}
		})
	}
}

func TestClientConfigValidateCredentials(t *testing.T) {
	tests := []struct {
		name    string
		cfg     natsx.ClientConfig
		wantErr string
	}{
		{"password and file", natsx.ClientConfig{URL: "nats://h:4222", User: "u", Password: "p", PasswordFile: "/f"}, "not both"},
		{"user without password", natsx.ClientConfig{URL: "nats://h:4222", User: "u"}, "without a password"},
		{"credentials twice", natsx.ClientConfig{URL: "nats://u:p@h:4222", User: "u", Password: "p"}, "either in the nats url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want an error containing %q, have %v", tt.wantErr, err)
			}
			if strings.Contains(err.Error(), "p@") {
				t.Fatalf("validation error quotes the url: %v", err)
			}
		})
	}
	if err := (natsx.ClientConfig{URL: "nats://h:4222", User: "u", PasswordFile: "/f"}).Validate(); err != nil {
		t.Fatalf("user with password file: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://svc:pw@h:4222", "nats://svc:redacted@h:4222"},
		{"nats://tok@h:4222", "nats://redacted@h:4222"},
		{"nats://a:1@h1:4222, nats://b:2@h2:4222", "nats://a:redacted@h1:4222,nats://b:redacted@h2:4222"},
		{"nats://a:pw@h: bad", "<unparsable url>"},
	}
	for _, tt := range tests {
		if have := natsx.RedactURL(tt.in); have != tt.want {
			t.Errorf("RedactURL(%q): want %q, have %q", tt.in, tt.want, have)
		}
	}
	if err := natsx.RedactError(nil, "nats://a:b@h"); err != nil {
		t.Fatal("nil error redacted to non-nil")
	}
	base := errors.New("boom nats://a:b3@h")
	if err := natsx.RedactError(base, "nats://a:b3@h"); !errors.Is(err, base) || strings.Contains(err.Error(), "b3") {
		t.Fatalf("redacted error: %v", err)
	}
}

func TestClientConfigValidateInboxPrefix(t *testing.T) {
	if err := (natsx.ClientConfig{URL: "nats://h", InboxPrefix: "_INBOX_x.>"}).Validate(); err == nil || !strings.Contains(err.Error(), "inbox prefix") {
		t.Fatalf("wildcard inbox prefix: want an inbox prefix error, have %v", err)
	}
	if err := (natsx.ClientConfig{URL: "nats://h", User: "u", PasswordFile: "f", InboxPrefix: "_INBOX_groups"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// A user whose permissions name only its own inbox can make requests
// once the connection uses that inbox prefix, with its password read
// from a file.
func TestConnectPasswordFileAndInboxPrefix(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "s.conf")
	if err := os.WriteFile(conf, []byte(`listen: 127.0.0.1:-1
authorization { users = [
  {user: svc, password: "s3cret", permissions: {publish: ["echo", "_INBOX_svc.>"], subscribe: ["_INBOX_svc.>", "echo"]}}
]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoSigs, opts.NoLog = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("not ready")
	}
	t.Cleanup(ns.Shutdown)
	pw := filepath.Join(dir, "svc.password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nc, err := natsx.Connect(natsx.ClientConfig{URL: ns.ClientURL(), Name: "t", User: "svc", PasswordFile: pw, InboxPrefix: "_INBOX_svc"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if m, err := nc.Request("echo", []byte("hi"), 2*time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("request through _INBOX_svc: %v", err)
	}
	if _, err := natsx.Connect(natsx.ClientConfig{URL: ns.ClientURL(), User: "svc", Password: "wrong"}); err == nil {
		t.Fatal("wrong password accepted")
	}
}
