package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/eventstore/storetest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

var occurred = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// mutedV1 is a member.muted event as schema version 1 stored it.
func mutedV1(version uint64) events.Event {
	return events.Event{ID: "m1", Type: events.MemberMuted, SchemaVersion: 1, GroupID: "g", Version: version,
		OccurredAt: occurred, Actor: "o", Data: json.RawMessage(`{"user_id":"u","duration_seconds":60}`)}
}

func body(t *testing.T, c events.Commit) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeUpcastsAndDecodeAsStoredDoesNot(t *testing.T) {
	c := events.Commit{CommandID: "c", Command: "mute", GroupID: "g", Events: []events.Event{mutedV1(1)}}
	m := eventstore.Message{Seq: 7, Time: occurred, Data: body(t, c)}

	up, err := eventstore.Decode(m)
	if err != nil {
		t.Fatal(err)
	}
	e := up.Commit.Events[0]
	want := `{"user_id":"u","until":"2026-03-04T05:07:07Z"}`
	if e.SchemaVersion != 2 || string(e.Data) != want {
		t.Fatalf("want v2 %s, have v%d %s", want, e.SchemaVersion, e.Data)
	}
	if up.Seq != 7 || !up.Time.Equal(occurred) {
		t.Fatalf("want seq 7 at %s, have %d at %s", occurred, up.Seq, up.Time)
	}

	raw, err := eventstore.DecodeAsStored(m)
	if err != nil {
		t.Fatal(err)
	}
	if e := raw.Commit.Events[0]; e.SchemaVersion != 1 || string(e.Data) != string(mutedV1(1).Data) {
		t.Fatalf("as stored: have v%d %s", e.SchemaVersion, e.Data)
	}
}

// An event this code cannot upcast stays as stored; the others are upcast
// and the commit is returned with ErrUpcast.
func TestDecodeKeepsWhatItCannotUpcast(t *testing.T) {
	future := events.Event{ID: "f", Type: events.MemberJoined, SchemaVersion: 99, GroupID: "g", Version: 2,
		OccurredAt: occurred, Actor: "o", Data: json.RawMessage(`{"user_id":"u"}`)}
	c := events.Commit{CommandID: "c", Command: "x", GroupID: "g", Events: []events.Event{mutedV1(1), future}}
	st, err := eventstore.Decode(eventstore.Message{Seq: 3, Data: body(t, c)})
	if !errors.Is(err, eventstore.ErrUpcast) {
		t.Fatalf("want ErrUpcast, have %v", err)
	}
	if len(st.Commit.Events) != 2 || st.Commit.Events[0].SchemaVersion != 2 || st.Commit.Events[1].SchemaVersion != 99 {
		t.Fatalf("want the first upcast and the second as stored, have %+v", st.Commit.Events)
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"invalid JSON", `{"group_id":`},
		{"not an object", `[]`},
		{"no group", `{"events":[{"id":"e","type":"member.joined","version":1}]}`},
		{"no events", `{"group_id":"g","events":[]}`},
		{"null events", `{"group_id":"g","events":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eventstore.Decode(eventstore.Message{Data: []byte(tc.in)})
			if !errors.Is(err, eventstore.ErrMalformed) {
				t.Fatalf("want ErrMalformed, have %v", err)
			}
		})
	}
}

func TestReceptionOf(t *testing.T) {
	sum := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		h    nats.Header
		want eventstore.Reception
	}{
		{"none", nil, eventstore.Reception{}},
		{"all", nats.Header{
			eventstore.HeaderReceivedAt: {"1700000000123456"}, eventstore.HeaderPayloadSHA256: {sum},
			eventstore.HeaderPayloadSize: {"42"}, eventstore.HeaderLatency: {"17"},
		}, eventstore.Reception{ReceivedAt: time.UnixMicro(1700000000123456).UTC(), PayloadSHA256: sum, PayloadSize: 42, LatencyUS: 17}},
		{"malformed", nats.Header{
			eventstore.HeaderReceivedAt: {"soon"}, eventstore.HeaderPayloadSHA256: {"abc"},
			eventstore.HeaderPayloadSize: {"-1"}, eventstore.HeaderLatency: {"-5"},
		}, eventstore.Reception{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if have := eventstore.ReceptionOf(tc.h); have != tc.want {
				t.Fatalf("want %+v, have %+v", tc.want, have)
			}
		})
	}
}

func TestLastVersionOf(t *testing.T) {
	if v, ok := eventstore.LastVersionOf(nats.Header{eventstore.HeaderLastVersion: {"12"}}); !ok || v != 12 {
		t.Fatalf("want 12, have %d %v", v, ok)
	}
	if _, ok := eventstore.LastVersionOf(nats.Header{}); ok {
		t.Fatal("no header read as a version")
	}
}

// Loads and gets decode through the same decoder as consumers: the
// reception headers and the stored time come back with the commit, from
// the leader and from direct batches alike.
func TestLoadAndGetCarryReceptionAndTime(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Batch size 1: commits before the last come from direct batches.
	s, err := eventstore.Open(srv.JS, stream, eventstore.Config{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	var last uint64
	for v := uint64(1); v <= 3; v++ {
		r, err := s.Append(ctx, storetest.Commit("rx", "c"+string(rune('0'+v)), v), last,
			eventstore.WithHeader(eventstore.HeaderReceivedAt, "1700000000000001"),
			eventstore.WithHeader(eventstore.HeaderLatency, "9"))
		if err != nil {
			t.Fatal(err)
		}
		last = r.Seq
	}
	want := eventstore.Reception{ReceivedAt: time.UnixMicro(1700000000000001).UTC(), LatencyUS: 9}
	check := func(how string, st eventstore.Stored) {
		t.Helper()
		if st.Reception != want {
			t.Fatalf("%s %d: want reception %+v, have %+v", how, st.Seq, want, st.Reception)
		}
		if st.Time.Before(before) || st.Time.After(time.Now().Add(time.Second)) {
			t.Fatalf("%s %d: stored time %s", how, st.Seq, st.Time)
		}
	}
	n := 0
	if _, err := s.Load(ctx, "rx", 0, func(st eventstore.Stored) error {
		n++
		check("load", st)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("want 3 commits loaded, have %d", n)
	}
	st, err := s.Get(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	check("get", st)
}
