package groups_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// sendWith sends a command with headers and decodes the reply.
func sendWith(t *testing.T, nc *nats.Conn, subject string, hdr nats.Header, body any) reply {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.RequestMsg(&nats.Msg{Subject: subject, Data: data, Header: hdr}, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var r reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("%s: reply %q: %v", subject, msg.Data, err)
	}
	r.raw = msg.Data
	return r
}

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%015d", i)
	}
	return out
}

// TestCorrelationIDAndHeaderCaps: the correlation id is short and
// subject-safe, headers are bounded, and a refused request changes
// nothing.
func TestCorrelationIDAndHeaderCaps(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	nc := srv.NC
	mustOK(t, send(t, nc, "roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "A"}))
	invite := func(corr string, extra nats.Header) reply {
		h := nats.Header{}
		for k, v := range extra {
			h[k] = v
		}
		if corr != "" {
			h.Set(groups.CorrelationHeader, corr)
		}
		return sendWith(t, nc, "roster.cmd.member.invite", h, map[string]any{"group_id": "A", "actor": "o", "user_ids": users(1000)})
	}
	longest := strings.Repeat("aZ9._:-", groups.MaxCorrelationIDLen/7) + strings.Repeat("x", groups.MaxCorrelationIDLen%7)
	refused := []struct {
		name, corr string
		extra      nats.Header
		want       string
	}{
		{"one byte too long", longest + "x", nil, "at most 128"},
		{"100 KB, over the header cap too", strings.Repeat("c", 100<<10), nil, "headers: 1024"},
		{"4 KB, under the header cap", strings.Repeat("c", 4000), nil, "at most 128"},
		{"space", "a b", nil, "allowed"},
		{"wildcard", "a*", nil, "allowed"},
		{"gt", "a>", nil, "allowed"},
		{"slash", "a/b", nil, "allowed"},
		{"unicode", "café", nil, "allowed"},
		{"headers too large", "ok", nats.Header{"X-Padding": {strings.Repeat("p", groups.DefaultMaxHeaderBytes)}}, "headers"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := invite(tt.corr, tt.extra)
			wantCode(t, r, "invalid_argument")
			if !strings.Contains(r.Error.Message, tt.want) {
				t.Fatalf("message %q does not say %q", r.Error.Message, tt.want)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("refusal took %s", took)
			}
		})
	}
	if commits := streamCommits(t, srv, "A"); len(commits) != 1 {
		t.Fatalf("refused commands appended: %d commits, want 1", len(commits))
	}
	r := mustOK(t, invite(longest, nats.Header{"X-Other": {"fine"}}))
	if len(r.Events) != 1000 || r.Events[999].CorrelationID != longest {
		t.Fatalf("accepted invite: %d events, correlation %q", len(r.Events), r.Events[len(r.Events)-1].CorrelationID)
	}
}

// TestCommitTooLargeIsInvalidArgument: on a server with a small max
// payload a command whose commit cannot be one message is a definite
// invalid_argument ("too large"), never unavailable, and nothing is stored.
func TestCommitTooLargeIsInvalidArgument(t *testing.T) {
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Port: -1, StoreDir: t.TempDir(), MaxPayload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: nc, JS: js, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	natstest.WaitEndpoints(t, nc, groups.ServiceName, len(groups.CommandNames()))

	mustOK(t, send(t, nc, "roster.cmd.group.create", map[string]any{"group_id": "B", "actor": "o", "name": "B"}))
	// 400 users fit in a 13 KB request but their commit is about 150 KB.
	r := sendWith(t, nc, "roster.cmd.member.invite", nats.Header{groups.CorrelationHeader: {strings.Repeat("c", 128)}},
		map[string]any{"group_id": "B", "actor": "o", "user_ids": users(400)})
	wantCode(t, r, "invalid_argument")
	if !strings.Contains(r.Error.Message, "too large") {
		t.Fatalf("message %q does not say too large", r.Error.Message)
	}
	// The group is untouched and still takes commands that fit.
	r = mustOK(t, send(t, nc, "roster.cmd.member.invite", map[string]any{"group_id": "B", "actor": "o", "user_ids": users(20)}))
	if r.Version != 21 {
		t.Fatalf("version after the refused and the accepted invite: want 21, have %d", r.Version)
	}
}

// TestCommitOverStreamMaxMsgSizeIsInvalidArgument: an operator may lower
// ROSTER_EVENTS' max message size below the connection's max payload; a
// commit the stream refuses for size is invalid_argument too, and the
// group is unchanged.
func TestCommitOverStreamMaxMsgSizeIsInvalidArgument(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	nc := srv.NC
	mustOK(t, send(t, nc, "roster.cmd.group.create", map[string]any{"group_id": "S", "actor": "o", "name": "S"}))
	ctx := context.Background()
	st, err := srv.JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxMsgSize = 16 << 10
	if _, err := srv.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// About 60 KB of commit: under the connection's 1 MiB, over the stream's 16 KiB.
	r := send(t, nc, "roster.cmd.member.invite", map[string]any{"group_id": "S", "actor": "o", "user_ids": users(150)})
	wantCode(t, r, "invalid_argument")
	if !strings.Contains(r.Error.Message, "too large") {
		t.Fatalf("message %q does not say too large", r.Error.Message)
	}
	if commits := streamCommits(t, srv, "S"); len(commits) != 1 {
		t.Fatalf("%d commits, want only the create", len(commits))
	}
	mustOK(t, send(t, nc, "roster.cmd.member.invite", map[string]any{"group_id": "S", "actor": "o", "user_ids": users(3)}))
}
