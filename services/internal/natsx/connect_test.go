package natsx_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/natsx"
)

func TestClientConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  natsx.ClientConfig
		want string
	}{
		{"credentials in the url", natsx.ClientConfig{URL: "nats://u:p@h:4222"}, "must not carry credentials"},
		{"two methods", natsx.ClientConfig{URL: "nats://h", NKey: "a.nk", User: "u"}, "not several"},
		{"password and file", natsx.ClientConfig{URL: "nats://h", User: "u", Password: "p", PasswordFile: "f"}, "not both"},
		{"password without user", natsx.ClientConfig{URL: "nats://h", PasswordFile: "f"}, "needs a user"},
		{"wildcard inbox", natsx.ClientConfig{URL: "nats://h", InboxPrefix: "_INBOX_x.>"}, "inbox prefix"},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, have %v", c.name, c.want, err)
		}
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
