package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// startProjection runs the projector and roster-query next to the real
// command service, as "rosterd all" does.
func startProjection(t *testing.T, srv *natstest.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := membership.NewProjector(membership.Config{JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	q, err := membership.NewQueries(membership.QueryConfig{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- p.Run(ctx) }()
	go func() { done <- q.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	// Ready when queries answer from a generation: the projector creates
	// the first one as it starts, and roster-query picks it up by a watch.
	natstest.Eventually(t, 10*time.Second, func() error {
		msg, err := srv.NC.Request(membership.SubjectGroup, []byte(`{"group_id":"readiness-probe"}`), time.Second)
		if err != nil {
			return err
		}
		if !strings.Contains(string(msg.Data), `"not_found"`) {
			return errors.New(string(msg.Data))
		}
		return nil
	})
}

func memberList(t *testing.T, srv *natstest.Server, args ...string) []string {
	t.Helper()
	out, err := run(t, srv, append([]string{"--json", "member", "list"}, args...)...)
	if err != nil {
		t.Fatalf("member list %v: %v", args, err)
	}
	var r membership.MembersReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("member list output %q: %v", out, err)
	}
	var ids []string
	for _, m := range r.Members {
		ids = append(ids, m.UserID)
	}
	slices.Sort(ids)
	return ids
}

// End to end through the real command service: the seed scenario, then
// every query verb, replay, status and a rebuild.
func TestCLIMembershipQueries(t *testing.T) {
	srv := startGroups(t)
	startProjection(t, srv)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"group", "create", "A", "--actor", "o", "--name", "Group A", "--policy", "invite_only"}, []string{"o"}},
		{[]string{"member", "invite", "A", "a", "--actor", "o"}, []string{"a", "o"}},
		{[]string{"member", "remove", "A", "a", "--actor", "o"}, []string{"o"}},
		{[]string{"member", "invite", "A", "a", "--actor", "o"}, []string{"a", "o"}},
	}
	for i, s := range steps {
		if _, err := run(t, srv, s.args...); err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
		v := string(rune('1' + i))
		if have := memberList(t, srv, "A", "--min-version", v); !slices.Equal(have, s.want) {
			t.Fatalf("after %v: want %v, have %v", s.args, s.want, have)
		}
	}
	if have := memberList(t, srv, "A", "--at-version", "3"); !slices.Equal(have, []string{"o"}) {
		t.Fatalf("at version 3: %v", have)
	}

	out, err := run(t, srv, "group", "changes", "A", "--since", "1")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "member.invited") + strings.Count(out, "member.removed"); n != 3 ||
		strings.Index(out, "member.removed") < strings.Index(out, "member.invited") {
		t.Fatalf("changes since 1:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"group", "get", "A"}, "owner o, policy invite_only, 2 members, version 4"},
		{[]string{"member", "get", "A", "a"}, "by o"},
		{[]string{"user", "groups", "a"}, "A "},
		{[]string{"member", "list", "A", "--role", "owner"}, "owner"},
	} {
		out, err := run(t, srv, tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Fatalf("%v: want %q in %q (%v)", tc.args, tc.want, out, err)
		}
	}

	out, err = run(t, srv, "events", "replay", "--group", "A", "--from-version", "2")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `"type":"member.removed"`) {
		t.Fatalf("replay:\n%s", out)
	}

	natstest.Eventually(t, 5*time.Second, func() error {
		out, err := run(t, srv, "status")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "lag            0 commits") || !strings.Contains(out, "roster-query     up") {
			return errors.New(out)
		}
		return nil
	})

	out, err = run(t, srv, "projection", "rebuild")
	if err != nil || !strings.Contains(out, "rebuilt generation 2 from 4 commits") {
		t.Fatalf("rebuild: %q %v", out, err)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		out, err := run(t, srv, "--json", "status")
		if err != nil {
			return err
		}
		if !strings.Contains(out, `"generation": 2`) {
			return errors.New(out)
		}
		return nil
	})
	if have := memberList(t, srv, "A"); !slices.Equal(have, []string{"a", "o"}) {
		t.Fatalf("after rebuild: %v", have)
	}

	_, err = run(t, srv, "member", "list", "A.>")
	var re *replyError
	if !errors.As(err, &re) || re.Code != "invalid_argument" {
		t.Fatalf("unsafe id: %v", err)
	}
}

// Paged verbs: without --all one page and a hint, with --all every page.
func TestCLIPaging(t *testing.T) {
	srv := startGroups(t)
	startProjection(t, srv)
	if _, err := run(t, srv, "group", "create", "P", "--actor", "o", "--name", "P", "--members", "a,b,c,d"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, srv, "member", "remove", "P", "d", "--actor", "o"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		lines int  // entry lines printed
		more  bool // a "more:" hint printed
	}{
		{"members one page", []string{"member", "list", "P", "--limit", "2", "--min-version", "2"}, 2, true},
		{"members all pages", []string{"member", "list", "P", "--limit", "2", "--all", "--min-version", "2"}, 4, false},
		{"changes one page", []string{"group", "changes", "P", "--limit", "1", "--min-version", "2"}, 1, true},
		{"changes all pages", []string{"group", "changes", "P", "--limit", "1", "--all", "--min-version", "2"}, 2, false},
		{"user groups", []string{"user", "groups", "a", "--limit", "1", "--all", "--min-version", "2", "--group", "P"}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, srv, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			entries, more := 0, false
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				switch {
				case strings.HasPrefix(l, "more: "):
					more = true
				case strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "v"):
					entries++
				}
			}
			if entries != tt.lines || more != tt.more {
				t.Fatalf("want %d entries (more=%v), have %d (more=%v):\n%s", tt.lines, tt.more, entries, more, out)
			}
		})
	}
}
