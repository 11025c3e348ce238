package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func authServer(t *testing.T, user, pw string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, Username: user, Password: pw, NoLog: true, NoSigs: true})
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

func runArgs(t *testing.T, args ...string) error {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

// TestCLINATSPasswordNeverInArgvOrErrors: the password comes from the
// environment or a file, and a failed connect never prints it.
func TestCLINATSPasswordNeverInArgvOrErrors(t *testing.T) {
	const pw = "s3cret-Pa55"
	s := authServer(t, "cli", pw)
	host := strings.TrimPrefix(s.ClientURL(), "nats://")

	err := runArgs(t, "--nats-url", "nats://cli:"+pw+"x@"+host, "--timeout", "200ms", "group", "get", "A")
	if err == nil || !strings.Contains(err.Error(), "connect to nats") || strings.Contains(err.Error(), pw) {
		t.Fatalf("wrong password in the url: want a connect error without the password, have %v", err)
	}

	t.Setenv("ROSTER_NATS_PASSWORD", pw)
	// Authenticated: the request reaches the server and finds no service.
	err = runArgs(t, "--nats-url", s.ClientURL(), "--nats-user", "cli", "--timeout", "200ms", "group", "get", "A")
	if err == nil || strings.Contains(err.Error(), "connect to nats") {
		t.Fatalf("password from the environment: want past connect (no responders), have %v", err)
	}

	t.Setenv("ROSTER_NATS_PASSWORD", pw+"x")
	err = runArgs(t, "--nats-url", s.ClientURL(), "--nats-user", "cli", "--timeout", "200ms", "group", "get", "A")
	if err == nil || !strings.Contains(err.Error(), "connect to nats") || strings.Contains(err.Error(), pw) {
		t.Fatalf("wrong password from the environment: want a connect error without it, have %v", err)
	}
}
