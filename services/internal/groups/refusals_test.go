package groups_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestEdgeRefusalsAreAudited: a request the edge refuses before any
// command code runs (a body or headers over the caps) is still a rejection
// in the trail (docs/adr/0025), stored in ROSTER_AUDIT before the caller
// reads it, and keeps roster-groups' own wording.
func TestEdgeRefusalsAreAudited(t *testing.T) {
	srv := natstest.Start(t)
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	startService(t, srv, func(c *groups.Config) { c.Audit, c.MaxRequestBytes = pub, 1024 })

	big := `{"group_id":"A","actor":"o","name":"` + strings.Repeat("n", 2000) + `"}`
	cases := []struct {
		name, body string
		header     nats.Header
		text       string
	}{
		{"body over the cap", big, nil, fmt.Sprintf("payload: %d bytes exceeds the limit of 1024", len(big))},
		{"headers over the cap", `{"group_id":"A","actor":"o","name":"A"}`, nats.Header{"X-Pad": {strings.Repeat("p", groups.DefaultMaxHeaderBytes)}}, "headers: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := srv.NC.RequestMsg(&nats.Msg{Subject: "roster.cmd.group.create", Data: []byte(tc.body), Header: tc.header}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if have := msg.Header.Get("Nats-Service-Error-Code"); have != "400" || !strings.Contains(string(msg.Data), tc.text) {
				t.Fatalf("want a 400 saying %q, have %s %s", tc.text, have, msg.Data)
			}
			rec := lastCommandRecord(t, srv.JS)
			if rec.Outcome != audit.OutcomeRejected || rec.ErrorCode != "invalid_argument" || !strings.Contains(rec.ErrorMsg, tc.text) ||
				rec.Subject != "roster.cmd.group.create" || rec.PayloadSize != len(tc.body) {
				t.Fatalf("at the reply, the trail's last command record is %+v", rec)
			}
		})
	}
}

// lastCommandRecord is the newest command record in ROSTER_AUDIT.
func lastCommandRecord(t *testing.T, js jetstream.JetStream) audit.Command {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, audit.Subject(audit.KindCommand))
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.DecodeRecord(audit.KindCommand, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return r.(audit.Command)
}
