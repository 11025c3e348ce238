package audit

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
)

// BenchmarkSinkDecode is the sink's decode path per message, as its
// reader runs it: a ROSTER_AUDIT command record as the publisher writes
// it, and a ROSTER_EVENTS commit of one event with roster-groups'
// reception headers (the one reader of commits, eventstore.DecodeAsStored).
func BenchmarkSinkDecode(b *testing.B) {
	rec, _ := json.Marshal(SampleCommand(1, "A"))
	commit, _ := json.Marshal(events.Commit{CommandID: "c1", Command: "member.invite", GroupID: "A", Events: []events.Event{{
		ID: "ev-A-2", Type: events.MemberInvited, SchemaVersion: 1, GroupID: "A", Version: 2, OccurredAt: t0,
		CommandID: "c1", CorrelationID: "c1", Actor: "o", Data: json.RawMessage(`{"user_ids":["a","b"]}`),
	}}})
	hdr := nats.Header{}
	hdr.Set(HeaderReceivedAt, "1772366400000000")
	hdr.Set(HeaderPayloadSize, "42")
	hdr.Set(HeaderLatency, "120")
	b.Run("record", func(b *testing.B) {
		m := auditstream.Msg{Subject: Subject(KindCommand), Data: rec, StreamSeq: 1}
		b.ReportAllocs()
		for b.Loop() {
			if rs, err := decodeAuditMsg(m); err != nil || len(rs) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("commit", func(b *testing.B) {
		m := auditstream.Msg{Subject: "roster.events.A", Data: commit, Header: hdr, StreamSeq: 7}
		b.ReportAllocs()
		for b.Loop() {
			if rs, err := decodeCommitMsg(m); err != nil || len(rs) != 2 {
				b.Fatalf("%v %d", err, len(rs))
			}
		}
	})
}
