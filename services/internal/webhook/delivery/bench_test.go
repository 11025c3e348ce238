package delivery_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// benchEvent is an event of the size the dispatch benchmark delivers (a
// member.invited of a generated group; body about 430 bytes).
func benchEvent() events.Event {
	return events.Event{
		ID: "0193a5f2-7b3c-7d41-9a6e-3f1c2b4d5e6f", Type: events.MemberInvited, SchemaVersion: 2,
		GroupID: "dh-00042", Version: 17, OccurredAt: time.Date(2026, 12, 2, 1, 56, 4, 123456789, time.UTC),
		CommandID: "5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b", CorrelationID: "5f0c8e2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
		Actor: "owner-1", Data: json.RawMessage(`{"user_id":"dh-00042-i16","role":"member","inviter":"owner-1","join_source":2,"nickname":"Zoë"}`),
	}
}

func BenchmarkBuildStandard(b *testing.B) {
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := delivery.BuildStandard("http://127.0.0.1:8080/ep/0", ev); err != nil {
			b.Fatal(err)
		}
	}
}

const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// BenchmarkSignHeaders is the path before ADR 0115: the endpoint's
// secrets parsed (endpoint.ActiveKeys) and an HMAC keyed per request.
func BenchmarkSignHeaders(b *testing.B) {
	built, err := delivery.BuildStandard("http://127.0.0.1:8080/ep/0", benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(1_764_640_564, 0)
	b.ReportAllocs()
	for b.Loop() {
		key, err := delivery.ParseSecret(benchSecret)
		if err != nil {
			b.Fatal(err)
		}
		delivery.SignHeaders(built.Headers, "msg_0123456789abcdef0123456789abcdef", ts, built.Body, [][]byte{key})
	}
}

// BenchmarkSignHeadersWith is the dispatcher's path since: the
// endpoint's Signer, reused across requests.
func BenchmarkSignHeadersWith(b *testing.B) {
	key, err := delivery.ParseSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	built, err := delivery.BuildStandard("http://127.0.0.1:8080/ep/0", benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(1_764_640_564, 0)
	s := delivery.NewSigner([][]byte{key})
	b.ReportAllocs()
	for b.Loop() {
		delivery.SignHeadersWith(built.Headers, "msg_0123456789abcdef0123456789abcdef", ts, built.Body, s)
	}
}
