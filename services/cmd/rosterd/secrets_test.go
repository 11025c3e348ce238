package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// TestNATSPasswordFromFileAndNeverInErrors: rosterd takes the NATS password
// from a file (or $ROSTER_NATS_PASSWORD) and a failed connect names the
// server without the password, however it was given.
func TestNATSPasswordFromFileAndNeverInErrors(t *testing.T) {
	const pw = "s3cret-Pa55"
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, Username: "svc", Password: pw, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	host := strings.TrimPrefix(s.ClientURL(), "nats://")
	wrongFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(wrongFile, []byte("wr0ng-Pa55\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, secret string
		args         []string
		env          string
	}{
		{"password in url", "wr0ng-Pa55", []string{"--nats-url", "nats://svc:wr0ng-Pa55@" + host}, ""},
		{"password file", "wr0ng-Pa55", []string{"--nats-url", s.ClientURL(), "--nats-user", "svc", "--nats-password-file", wrongFile}, ""},
		{"password from env", "wr0ng-Pa55", []string{"--nats-url", s.ClientURL(), "--nats-user", "svc"}, "wr0ng-Pa55"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("ROSTER_NATS_PASSWORD", tc.env)
			}
			root := newRoot()
			root.SetArgs(append([]string{"groups"}, tc.args...))
			err := root.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), "connect to nats at") {
				t.Fatalf("want a connect error, have %v", err)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error carries the password: %v", err)
			}
		})
	}
	// The right password from a file connects.
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &options{natsURL: s.ClientURL(), natsUser: "svc", natsPasswordFile: file, logFormat: "json", logLevel: "error"}
	e, err := connectEnv(context.Background(), o, zerolog.Nop(), "groups", clockwork.NewRealClock())
	if err != nil {
		t.Fatalf("connect with the password file: %v", err)
	}
	e.nc.Close()
}
