package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func TestDecodeRecord(t *testing.T) {
	good, _ := json.Marshal(SampleAttempt(1, "ep1"))
	tests := []struct {
		name    string
		kind    Kind
		data    string
		wantErr error
		reason  string
	}{
		{name: "valid attempt", kind: KindDeliveryAttempt, data: string(good)},
		{name: "not json", kind: KindCommand, data: "{", wantErr: ErrMalformed, reason: "decode"},
		{name: "trailing data", kind: KindDeliveryAttempt, data: string(good) + "x", wantErr: ErrMalformed, reason: "data after the JSON object"},
		{name: "unknown field", kind: KindCommand, data: `{"id":"x","extra":1}`, wantErr: ErrMalformed, reason: "unknown field"},
		{name: "every problem reported", kind: KindCommand, data: `{"id":"","outcome":"maybe"}`, wantErr: ErrMalformed, reason: "id: must not be empty; subject: must not be empty; outcome"},
		{name: "event without version", kind: KindEvent, data: `{"id":"e","type":"t","group_id":"g","occurred_at":"2026-01-01T00:00:00Z"}`, wantErr: ErrMalformed, reason: "version"},
		{name: "bad state", kind: KindDeliveryAttempt, data: strings.Replace(string(good), `"retrying"`, `"lost"`, 1), wantErr: ErrMalformed, reason: "state"},
		{name: "unknown kind", kind: "bogus", data: `{}`, wantErr: ErrMalformed, reason: "unknown record kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRecord(tc.kind, []byte(tc.data))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, have %v", tc.wantErr, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("want the error to say %q, have %q", tc.reason, err)
			}
		})
	}
}

func TestSinkConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  SinkConfig
		want string
	}{
		{name: "no JetStream", cfg: SinkConfig{}, want: "JS is required"},
		{name: "backoff beyond ack wait", cfg: SinkConfig{AckWait: 2 * time.Second, Backoff: Backoff{Min: time.Second, Max: 5 * time.Second}}, want: "below ack wait"},
		{name: "bad database", cfg: SinkConfig{ClickHouse: ClickHouseConfig{Database: "x;drop"}}, want: "only letters"},
		{name: "bad batch", cfg: SinkConfig{BatchSize: -1}, want: "batch size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSink(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error containing %q, have %v", tc.want, err)
			}
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	ch := NewTestClickHouse(t) // applied once there
	res, err := Migrate(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.Present) == 0 {
		t.Errorf("second run: want nothing applied and every version present, have %+v", res)
	}
}

// BenchmarkRecord measures what a caller pays to audit: Record with a
// running Publisher and RecordDurable (what a rejected command pays before
// its reply), beside a synchronous JetStream publish of the same record and
// a bare async publish. Run: go test -run x -bench . ./internal/audit/
func BenchmarkRecord(b *testing.B) {
	ns := natstest.Start(b)
	if _, err := Provision(context.Background(), ns.JS, StreamConfig{}); err != nil {
		b.Fatal(err)
	}
	rec := SampleCommand(0, "A")
	data, _ := json.Marshal(rec)

	b.Run("Publisher.Record", func(b *testing.B) {
		p := StartPublisher(b, ns.JS)
		waits := testutil.ToFloat64(p.Metrics().Backpressure)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rec.ID = "r" + strconv.Itoa(i)
			if err := p.Record(context.Background(), rec); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		FlushPublisher(b, p)
		// A burst faster than JetStream acks fills the buffer, and Record
		// then waits for room (it never drops): say how often.
		b.ReportMetric((testutil.ToFloat64(p.Metrics().Backpressure)-waits)/float64(b.N), "waits/op")
	})
	b.Run("Publisher.RecordDurable", func(b *testing.B) {
		p := StartPublisher(b, ns.JS)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rec.ID = "d" + strconv.Itoa(i)
			if err := p.RecordDurable(context.Background(), rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/sync-publish", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ns.JS.Publish(context.Background(), Subject(KindCommand), data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/async-publish", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ns.JS.PublishAsync(Subject(KindCommand), data); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		<-ns.JS.PublishAsyncComplete()
	})
}

func TestCommandFromCommit(t *testing.T) {
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	commit := events.Commit{CommandID: "c1", Command: "member.invite", GroupID: "G", Events: []events.Event{
		{ID: "e1", Type: events.MemberInvited, GroupID: "G", Version: 4, OccurredAt: at, Actor: "o"},
		{ID: "e2", Type: events.MemberInvited, GroupID: "G", Version: 5, OccurredAt: at, Actor: "o"},
	}}
	base := Command{ID: "commit:e1", CommandID: "c1", Subject: "roster.cmd.member.invite", GroupID: "G", Actor: "o",
		Outcome: OutcomeAccepted, Version: 5, ReceivedAt: at}
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		commit events.Commit
		hdr    map[string][]string
		want   Command
		wantOK bool
	}{
		{"no headers: events' time, no digest", commit, nil, base, true},
		{"reception headers", commit, map[string][]string{
			HeaderReceivedAt: {"1777888800000001"}, HeaderPayloadSHA256: {sum}, HeaderPayloadSize: {"99"}, HeaderLatency: {"1500"},
		}, func() Command {
			c := base
			c.ReceivedAt, c.PayloadHash, c.PayloadSize, c.LatencyUS = time.UnixMicro(1777888800000001).UTC(), sum, 99, 1500
			return c
		}(), true},
		{"garbled headers count as absent", commit, map[string][]string{
			HeaderReceivedAt: {"yesterday"}, HeaderPayloadSHA256: {"short"}, HeaderPayloadSize: {"-1"}, HeaderLatency: {"x"},
		}, base, true},
		{"no command name: events rows only", func() events.Commit { c := commit; c.Command = ""; return c }(), nil, Command{}, false},
		{"no events", events.Commit{CommandID: "c1", Command: "group.create", GroupID: "G"}, nil, Command{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have, ok := CommandFromCommit(tc.commit, tc.hdr)
			if ok != tc.wantOK || have != tc.want {
				t.Errorf("want %v %+v\nhave %v %+v", tc.wantOK, tc.want, ok, have)
			}
		})
	}
}
