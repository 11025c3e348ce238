package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func startGroups(t *testing.T) *natstest.Server {
	t.Helper()
	srv := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(t, srv.NC, groups.ServiceName, len(groups.CommandNames()))
	return srv
}

func run(t *testing.T, srv *natstest.Server, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(append([]string{"--nats-url", srv.URL()}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCLISeedScenario(t *testing.T) {
	srv := startGroups(t)
	steps := [][]string{
		{"group", "create", "A", "--actor", "o", "--name", "Group A", "--policy", "approval"},
		{"member", "invite", "A", "a", "--actor", "o"},
		{"member", "remove", "A", "a", "--actor", "o"},
		{"member", "invite", "A", "a", "--actor", "o"},
	}
	for i, args := range steps {
		out, err := run(t, srv, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if want := "group A is at version " + string(rune('1'+i)); !strings.Contains(out, want) {
			t.Fatalf("%v: want %q in %q", args, want, out)
		}
	}
	out, err := run(t, srv, "--json", "member", "set-role", "A", "a", "admin", "--actor", "o", "--command-id", "k1")
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Version uint64 `json:"version"`
		Events  []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &reply); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if reply.Version != 5 || len(reply.Events) != 1 || reply.Events[0].Type != "member.role_changed" {
		t.Fatalf("reply: %+v", reply)
	}
}

func TestCLIErrors(t *testing.T) {
	srv := startGroups(t)
	tests := []struct {
		name string
		args []string
		code string
	}{
		{"unsafe id", []string{"member", "invite", "A.B", "a", "--actor", "o"}, "invalid_argument"},
		{"missing group", []string{"member", "invite", "nope", "a", "--actor", "o"}, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, srv, tt.args...)
			var re *replyError
			if !errors.As(err, &re) || re.Code != tt.code {
				t.Fatalf("want %s, have %v", tt.code, err)
			}
		})
	}
	if _, err := run(t, srv, "member", "invite", "A", "a"); err == nil || !strings.Contains(err.Error(), "--actor") {
		t.Fatalf("want --actor required, have %v", err)
	}
}
