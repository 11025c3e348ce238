package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// TestCLIPolicyVerbs drives every roster policy verb against a real
// roster-policy, and checks that a secret goes in only by file and comes
// out only from create.
func TestCLIPolicyVerbs(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	key, err := endpoint.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := endpoint.ParseKey(key)
	ring, _ := endpoint.NewKeyring(raw)
	svc, err := policy.New(ctx, policy.Config{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop(), SecretKeys: ring, AllowCIDRs: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(t, srv.NC, policy.ServiceName, len(policy.Verbs))

	out, err := run(t, srv, "policy", "create", "--actor", "ops", "--id", "inv", "--command", "member.invite",
		"--url", "http://127.0.0.1:9/hook", "--format", "standard", "--on-failure", "deny", "--timeout", "2s")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var created struct {
		Hook   map[string]any `json:"hook"`
		Secret string         `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.Secret, "whsec_") || created.Hook["timeout"] != "2s" {
		t.Fatalf("create printed %q (%v)", out, err)
	}
	// A secret from a file; update prints no secret.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, srv, "policy", "update", "inv", "--actor", "ops", "--secret-file", file, "--on-failure", "allow")
	if err != nil || strings.Contains(out, secret[6:]) || !strings.Contains(out, `"on_failure": "allow"`) {
		t.Fatalf("update: %q %v", out, err)
	}
	// ... or from stdin.
	root := newRoot(new(strings.Builder))
	root.SetIn(strings.NewReader(secret + "\n"))
	root.SetArgs([]string{"--nats-url", srv.URL(), "policy", "update", "inv", "--actor", "ops", "--secret-file", "-", "--timeout", "3s"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("update with the secret on stdin: %v", err)
	}
	out, err = run(t, srv, "policy", "create", "--actor", "ops", "--id", "join", "--command", "member.join",
		"--url", "http://127.0.0.1:9/oim", "--format", "openim", "--on-failure", "allow", "--callback", "callbackBeforeMembersJoinGroupCommand")
	if err != nil || strings.Contains(out, `"secret"`) {
		t.Fatalf("openim create: %q %v", out, err)
	}
	out, err = run(t, srv, "policy", "get", "inv")
	if err != nil || !strings.Contains(out, `"has_secret": true`) || strings.Contains(out, secret[6:]) || strings.Contains(out, created.Secret[6:]) {
		t.Fatalf("get: %q %v", out, err)
	}
	out, err = run(t, srv, "policy", "list")
	if err != nil || !strings.Contains(out, "inv") || !strings.Contains(out, "member.invite") || !strings.Contains(out, "callbackBeforeMembersJoinGroupCommand") {
		t.Fatalf("list: %q %v", out, err)
	}
	if strings.Index(out, "inv ") > strings.Index(out, "join ") {
		t.Fatalf("list: want creation order (inv before join): %q", out)
	}
	out, err = run(t, srv, "--json", "policy", "list", "--command", "member.join")
	if err != nil || strings.Contains(out, `"inv"`) || !strings.Contains(out, `"join"`) {
		t.Fatalf("list --command: %q %v", out, err)
	}
	if _, err := run(t, srv, "policy", "delete", "inv", "--actor", "ops"); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, srv, "policy", "get", "inv")
	var re *replyError
	if !errors.As(err, &re) || re.Code != "not_found" {
		t.Fatalf("get after delete: want not_found, have %v", err)
	}

	// Refusals before any request: no actor, a missing required flag, and
	// no way to pass a secret on the command line.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "delete", "join"}, "--actor"},
		{[]string{"policy", "create", "--actor", "ops", "--command", "member.invite", "--url", "http://127.0.0.1:9/x", "--format", "openim"}, "--on-failure"},
		{[]string{"policy", "create", "--actor", "ops", "--secret", secret}, "unknown flag: --secret"},
		{[]string{"policy", "update", "join", "--actor", "ops", "--secret-file", filepath.Join(t.TempDir(), "missing")}, "--secret-file"},
	} {
		if _, err := run(t, srv, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error naming %q, have %v", tc.args, tc.want, err)
		}
	}
	if out, err := run(t, srv, "status"); err != nil || !strings.Contains(out, "roster-policy    up") {
		t.Fatalf("status: want roster-policy up, have %q %v", out, err)
	}
	// The service's own refusals come back as reply errors.
	_, err = run(t, srv, "policy", "create", "--actor", "ops", "--command", "member.invite", "--url", "http://10.0.0.1/x", "--format", "openim", "--on-failure", "deny")
	if !errors.As(err, &re) || re.Code != "invalid_argument" {
		t.Fatalf("private address: want invalid_argument, have %v", err)
	}
}
