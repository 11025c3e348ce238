package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// TestCLIWebhookVerbs drives every roster webhook verb against a real
// dispatcher and a loopback receiver.
func TestCLIWebhookVerbs(t *testing.T) {
	srv := startGroups(t)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := webhook.New(ctx, webhook.Config{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop(),
		AllowCIDRs: []string{"127.0.0.0/8"}, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(t, srv.NC, webhook.ServiceName, len(webhook.Verbs)+1)
	var hits atomic.Int32
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer rv.Close()

	out, err := run(t, srv, "webhook", "create", "--actor", "ops", "--id", "cli", "--url", rv.URL, "--events", "member.*", "--ordered")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("create printed %q (%v)", out, err)
	}
	// A secret comes from a file, never argv; the create reply shows it once.
	secretPath := filepath.Join(t.TempDir(), "secret")
	const fileSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	if err := os.WriteFile(secretPath, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, srv, "webhook", "create", "--actor", "ops", "--id", "cli-file", "--url", rv.URL, "--secret-file", secretPath, "--paused")
	if err != nil || !strings.Contains(out, fileSecret) {
		t.Fatalf("create --secret-file: %q %v", out, err)
	}
	if _, err := run(t, srv, "webhook", "create", "--actor", "ops", "--url", rv.URL, "--secret", fileSecret); err == nil {
		t.Fatal("--secret in argv: want an unknown-flag error")
	}
	steps := [][]string{
		{"webhook", "get", "cli"},
		{"webhook", "rotate-secret", "cli-file", "--actor", "ops", "--secret-file", secretPath},
		{"webhook", "delete", "cli-file", "--actor", "ops"},
		{"webhook", "update", "cli", "--actor", "ops", "--timeout", "5s"},
		{"webhook", "pause", "cli", "--actor", "ops", "--reason", "maintenance"},
		{"webhook", "resume", "cli", "--actor", "ops"},
		{"webhook", "rotate-secret", "cli", "--actor", "ops", "--grace", "1h"},
		{"webhook", "test", "cli", "--actor", "ops"},
		{"webhook", "redeliver", "cli", "--actor", "ops", "--since-seq", "1"},
	}
	for _, args := range steps {
		if out, err := run(t, srv, args...); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, out)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("test verb: want one request at the receiver, have %d", hits.Load())
	}
	out, err = run(t, srv, "webhook", "list")
	if err != nil || !strings.Contains(out, "cli") || !strings.Contains(out, "active") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := run(t, srv, "webhook", "delete", "cli", "--actor", "ops"); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, srv, "webhook", "get", "cli")
	var re *replyError
	if !errors.As(err, &re) || re.Code != "not_found" {
		t.Fatalf("get after delete: want not_found, have %v", err)
	}
	if _, err := run(t, srv, "webhook", "pause", "x"); err == nil || !strings.Contains(err.Error(), "--actor") {
		t.Fatalf("pause without actor: want an --actor error, have %v", err)
	}
}
