package jsevents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// stream provisions ROSTER_EVENTS and appends n one-event commits to each
// group, alternating between them.
func stream(t *testing.T, n int, groups ...string) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	srv := natstest.Start(t)
	_, js := srv.ConnectJS(t)
	ctx := context.Background()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: events.StreamName, Subjects: []string{events.SubjectPrefix + ">"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for _, g := range groups {
			c := events.Commit{CommandID: fmt.Sprintf("c%d", i), Command: "group.update", GroupID: g, Events: []events.Event{{
				ID: fmt.Sprintf("%s-%d", g, i), Type: "group.updated", SchemaVersion: 1, GroupID: g, Version: uint64(i + 1),
				OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "o", Data: json.RawMessage(`{"name":"n"}`),
			}}}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.Publish(ctx, events.Subject(g), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return js, s
}

func TestHistoryHeadAndEach(t *testing.T) {
	js, _ := stream(t, 4, "A", "B")
	h := jsevents.NewHistory(js)
	ctx := context.Background()
	seq, v, err := h.Head(ctx, "B")
	if err != nil || seq != 8 || v != 4 {
		t.Fatalf("head of B: want seq 8 version 4, have %d %d %v", seq, v, err)
	}
	if _, _, err := h.Head(ctx, "C"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("head of a group without commits: want not_found, have %v", err)
	}
	var seen []uint64
	err = h.Each(ctx, "A", 2, 7, func(s uint64, c events.Commit) (bool, error) {
		if c.GroupID != "A" {
			t.Fatalf("commit of %s in A's history", c.GroupID)
		}
		seen = append(seen, s)
		return len(seen) < 2, nil
	})
	if err != nil || fmt.Sprint(seen) != "[3 5]" {
		t.Fatalf("A from 2 to 7, stopping after two: want [3 5], have %v (%v)", seen, err)
	}
}

func TestHistoryBeforeTheStreamIsUnavailable(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.ConnectJS(t)
	if _, _, err := jsevents.NewHistory(js).Head(context.Background(), "A"); events.CodeOf(err) != events.CodeUnavailable {
		t.Fatalf("want unavailable, have %v", err)
	}
}

func TestReadCommitsInOrderUpToLast(t *testing.T) {
	js, s := stream(t, 3, "A", "B")
	out := make(chan []app.StreamCommit, 8)
	if err := jsevents.ReadCommits(context.Background(), js, s, 5, out); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for batch := range out {
		for _, c := range batch {
			if c.Err != nil || len(c.Commit.Events) != 1 {
				t.Fatalf("commit %d: %+v", c.Seq, c)
			}
			seqs = append(seqs, c.Seq)
		}
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 5]" {
		t.Fatalf("want [1 2 3 4 5], have %v", seqs)
	}
}
