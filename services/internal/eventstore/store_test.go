package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func commit(group, cmd string, version uint64) events.Commit {
	return events.Commit{CommandID: cmd, Command: "member.join", GroupID: group, Events: []events.Event{{
		ID: fmt.Sprintf("%s-%d", group, version), Type: events.MemberJoined, SchemaVersion: 1, GroupID: group,
		Version: version, OccurredAt: time.Unix(0, 0).UTC(), CommandID: cmd, Actor: "u", Data: []byte(`{"user_id":"u"}`),
	}}}
}

func TestProvisionIsIdempotent(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{}); err != nil {
			t.Fatalf("provision %d: %v", i, err)
		}
	}
	info, err := srv.JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.CachedInfo().Config
	if !cfg.DenyDelete || !cfg.DenyPurge || cfg.Storage != jetstream.FileStorage || cfg.Subjects[0] != "roster.events.>" {
		t.Fatalf("stream config: %+v", cfg)
	}
	// The log is immutable: the server itself refuses deletes and purges.
	if err := info.Purge(ctx); err == nil {
		t.Fatal("purge allowed")
	}
}

func TestProvisionRefusesIncompatibleStream(t *testing.T) {
	tests := []struct {
		name string
		cfg  jetstream.StreamConfig
	}{
		{"deletes allowed", jetstream.StreamConfig{Name: events.StreamName, Subjects: []string{"roster.events.>"}, DenyPurge: true}},
		{"other subjects", jetstream.StreamConfig{Name: events.StreamName, Subjects: []string{"other.>"}, DenyDelete: true, DenyPurge: true}},
		{"discards old events", jetstream.StreamConfig{Name: events.StreamName, Subjects: []string{"roster.events.>"}, DenyDelete: true, DenyPurge: true, MaxAge: time.Hour}},
		{"work queue", jetstream.StreamConfig{Name: events.StreamName, Subjects: []string{"roster.events.>"}, DenyDelete: true, DenyPurge: true, Retention: jetstream.WorkQueuePolicy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natstest.Start(t)
			ctx := context.Background()
			if _, err := srv.JS.CreateStream(ctx, tt.cfg); err != nil {
				t.Fatal(err)
			}
			_, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
			if !errors.Is(err, eventstore.ErrIncompatibleStream) {
				t.Fatalf("want ErrIncompatibleStream, have %v", err)
			}
			// And nothing was changed.
			s, _ := srv.JS.Stream(ctx, events.StreamName)
			if got := s.CachedInfo().Config; got.DenyDelete != tt.cfg.DenyDelete || got.MaxAge != tt.cfg.MaxAge {
				t.Fatalf("stream was modified: %+v", got)
			}
		})
	}
}

func TestAppendConcurrencyAndLoad(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st := eventstore.New(srv.JS, stream)
	r1, err := st.Append(ctx, commit("A", "c1", 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Another group's append moves the stream but not A's subject.
	if _, err := st.Append(ctx, commit("B", "c1", 1), 0); err != nil {
		t.Fatal(err)
	}
	// A second "first" append to A conflicts.
	if _, err := st.Append(ctx, commit("A", "c2", 1), 0); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("want ErrConflict, have %v", err)
	}
	// A stale expected sequence conflicts too.
	r2, err := st.Append(ctx, commit("A", "c2", 2), r1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, commit("A", "c3", 3), r1.Seq); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("want ErrConflict, have %v", err)
	}
	// The same command inside the duplicate window is recognised.
	dup, err := st.Append(ctx, commit("A", "c2", 2), r2.Seq)
	if err != nil || !dup.Duplicate || dup.Seq != r2.Seq {
		t.Fatalf("want duplicate of %d, have %+v %v", r2.Seq, dup, err)
	}
	last, err := st.LastSeq(ctx, "A")
	if err != nil || last != r2.Seq {
		t.Fatalf("last seq: want %d, have %d %v", r2.Seq, last, err)
	}
	var versions []uint64
	if _, err := st.Load(ctx, "A", 0, func(s eventstore.Stored) error {
		versions = append(versions, s.Commit.LastVersion())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("loaded versions %v", versions)
	}
	if n, _ := st.LastSeq(ctx, "nobody"); n != 0 {
		t.Fatalf("empty group: last seq %d", n)
	}
}

// Replicated streams report a CAS conflict as 10164 instead of 10071.
func TestIsConflictKnowsBothCodes(t *testing.T) {
	for _, code := range []jetstream.ErrorCode{jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant} {
		err := fmt.Errorf("publish: %w", &jetstream.APIError{Code: 400, ErrorCode: code})
		if !eventstore.IsConflict(err) {
			t.Errorf("code %d not recognised", code)
		}
	}
	if eventstore.IsConflict(&jetstream.APIError{Code: 503, ErrorCode: 10008}) {
		t.Error("unrelated error taken for a conflict")
	}
}
