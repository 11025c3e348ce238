package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
)

// benchJob is a batched job as the fan-out makes it in the dispatch
// benchmark: one group's units of a fan-out batch.
func benchJob(units int) Job {
	at := time.Date(2026, 12, 2, 1, 56, 4, 123456789, time.UTC)
	ev := func(i int) events.Event {
		return events.Event{
			ID: "0193a5f2-7b3c-7d41-9a6e-3f1c2b4d5e" + string(rune('a'+i%26)) + "f", Type: events.MemberInvited, SchemaVersion: 2,
			GroupID: "dh-00042", Version: uint64(17 + i), OccurredAt: at,
			CommandID: "5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b", CorrelationID: "5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
			Actor: "owner-1", Data: json.RawMessage(`{"user_id":"dh-00042-i16","role":"member","inviter":"owner-1","join_source":2}`),
		}
	}
	j := Job{EndpointID: "ep_0123456789abcdef", Event: ev(0), StreamSeq: 100, Trigger: TriggerScheduled, EnqueuedAt: at}
	for i := 1; i < units; i++ {
		j.More = append(j.More, Unit{Event: ev(i), StreamSeq: uint64(100 + i)})
	}
	return j
}

func BenchmarkJobOut(b *testing.B) {
	j := benchJob(25)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.out(false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJobDecode(b *testing.B) {
	o, err := benchJob(25).out(false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(o.Body)))
	for b.Loop() {
		if _, err := decodeJob(o.Body); err != nil {
			b.Fatal(err)
		}
	}
}
