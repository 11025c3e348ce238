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

// The OpenIM group model's verbs and flags (issue 12) reach the service as
// the request fields they name.
func TestCLIOpenIMModel(t *testing.T) {
	srv := startGroups(t)
	steps := []struct {
		args  []string
		event string
		has   []string
	}{
		{[]string{"group", "create", "B", "--actor", "o", "--name", "B", "--policy", "all_approval", "--admins", "ad", "--members", "m",
			"--face-url", "https://f/b.png", "--notification", "read me", "--look-member-info", "1"},
			"group.created", []string{`"admins":["ad"]`, `"creator":"o"`, `"face_url":"https://f/b.png"`, `"notification":"read me"`, `"look_member_info":1`}},
		{[]string{"group", "update", "B", "--actor", "ad", "--ex", "x", "--apply-member-friend", "1"},
			"group.updated", []string{`"ex":"x"`, `"apply_member_friend":1`}},
		{[]string{"member", "invite", "B", "f", "--actor", "m", "--reason", "my friend"},
			"member.join_requested", []string{`"inviter":"m"`, `"source":2`, `"message":"my friend"`}},
		{[]string{"member", "join", "B", "--actor", "q", "--source", "4", "--ex", "qr"},
			"member.join_requested", []string{`"source":4`, `"ex":"qr"`}},
		{[]string{"member", "set-info", "B", "m", "--actor", "o", "--nickname", "Em", "--role", "admin"},
			"member.info_changed", []string{`"nickname":"Em"`, `"role":"admin"`, `"previous":"member"`}},
		{[]string{"member", "remove", "B", "m", "--actor", "o", "--reason", "spam"},
			"member.removed", []string{`"reason":"spam"`}},
	}
	for _, s := range steps {
		out, err := run(t, srv, append([]string{"--json"}, s.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
		var reply struct {
			Events []struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			} `json:"events"`
		}
		if err := json.Unmarshal([]byte(out), &reply); err != nil || len(reply.Events) != 1 || reply.Events[0].Type != s.event {
			t.Fatalf("%v: want one %s event, have %s (%v)", s.args, s.event, out, err)
		}
		var data bytes.Buffer
		if err := json.Compact(&data, reply.Events[0].Data); err != nil {
			t.Fatal(err)
		}
		for _, h := range s.has {
			if !strings.Contains(data.String(), h) {
				t.Fatalf("%v: want %s in %s", s.args, h, data.String())
			}
		}
	}
	if _, err := run(t, srv, "member", "set-info", "B", "ad", "--actor", "o"); err == nil || !strings.Contains(err.Error(), "--nickname") {
		t.Fatalf("set-info without a field: want a usage error, have %v", err)
	}
}
