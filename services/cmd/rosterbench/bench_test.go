package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// BenchmarkExecuteInvite measures roster-groups' in-process path (decide +
// OCC append + fold, no request/reply hop) beside BenchmarkOCCAppend, the
// JetStream append it is built on, on the same server: go test -bench .
// The headline figures come from scripts/bench; these isolate the service's
// own cost from the NATS round trip of a client request.
func BenchmarkExecuteInvite(b *testing.B) {
	srv := natstest.Start(b)
	svc, err := groups.New(context.Background(), groups.Config{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if res := svc.Execute(ctx, "group.create", []byte(`{"group_id":"g","actor":"owner","name":"bench"}`), ""); res.Err != nil {
		b.Fatal(res.Err)
	}
	b.ResetTimer()
	for i := range b.N {
		verb := "member.invite"
		if i%2 == 1 {
			verb = "member.remove"
		}
		if res := svc.Execute(ctx, verb, []byte(`{"group_id":"g","actor":"owner","user_ids":["u"]}`), ""); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkOCCAppend(b *testing.B) {
	srv := natstest.Start(b)
	ctx := context.Background()
	if _, err := srv.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 460) // about an invite commit
	var last uint64
	b.ResetTimer()
	for range b.N {
		ack, err := srv.JS.Publish(ctx, fmt.Sprintf("b.%s", "g"), payload, jetstream.WithExpectLastSequencePerSubject(last))
		if err != nil {
			b.Fatal(err)
		}
		last = ack.Sequence
	}
}
