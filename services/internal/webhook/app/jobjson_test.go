package app

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// jobAgrees checks encodeJob against json.Marshal and decodeJob against
// json.Unmarshal of the same bytes.
func jobAgrees(t *testing.T, name any, j Job) {
	t.Helper()
	want, wantErr := json.Marshal(j)
	got, err := encodeJob(j)
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("%v: encodeJob = %q, %v; json.Marshal = %q, %v", name, got, err, want, wantErr)
	}
	if err == nil {
		decodeAgrees(t, name, got)
	}
}

func decodeAgrees(t *testing.T, name any, data []byte) {
	t.Helper()
	var want Job
	wantErr := json.Unmarshal(data, &want)
	got, err := decodeJob(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%v: decodeJob(%q) error %v; json.Unmarshal %v", name, data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%v: decodeJob(%q)\n = %#v\njson.Unmarshal\n = %#v", name, data, got, want)
	}
}

func TestJobCodecAgreesWithEncodingJSON(t *testing.T) {
	batched := benchJob(25)
	if _, ok := appendJob(nil, batched); !ok {
		t.Fatal("the fast path refused a plain job: every fan-out would go through reflection")
	}
	jobAgrees(t, "batched", batched)
	single := benchJob(1)
	jobAgrees(t, "single", single)
	all := benchJob(3)
	all.Batch = []events.Event{all.More[0].Event, all.More[1].Event}
	all.More[1].Batch = []events.Event{all.Event}
	all.Generation, all.Refanned, all.Retry, all.Trigger = "gen-1", true, true, TriggerRedelivery
	jobAgrees(t, "every field", all)
	odd := all
	odd.More = append([]Unit(nil), all.More...)
	odd.More[0].Event.Data = json.RawMessage(`{ "spaced": true }`)
	jobAgrees(t, "data json.Marshal compacts", odd)
	odd = all
	odd.EnqueuedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	jobAgrees(t, "unencodable time", odd)
	odd = all
	odd.EndpointID = "<&>"
	jobAgrees(t, "escaped id", odd)
	odd = all
	odd.Batch = []events.Event{}
	odd.More = []Unit{}
	jobAgrees(t, "empty, not nil", odd)
	for i, body := range []string{
		`{}`, `null`, `{"event":null,"more":null}`, `{"ENDPOINT_ID":"x","Event":{"ID":"y"}}`,
		`{"endpoint_id":"a","endpoint_id":"b"}`, `{"stream_seq":-1}`, `{"stream_seq":1.5}`, `{"more":[{"event":{"data":{"a" : 1}}}]}`,
		`{"event":{"occurred_at":"not a time"}}`, `{"endpoint_id":"\ud800"}`, `{"endpoint_id":"\xff"}`, `[`, ``,
		`{"event":{"data":"<x>"}} `, `{"refanned":"true"}`, `{"trigger":1}`,
	} {
		decodeAgrees(t, i, []byte(body))
	}
}

func FuzzEncodeJob(f *testing.F) {
	j := benchJob(2)
	f.Add(j.EndpointID, j.Event.ID, "", j.Trigger, uint64(7), int64(1_764_640_564_123_456_789), []byte(j.Event.Data), false, false, 2)
	f.Add("<ep>", "\u2028", "g", "", uint64(0), int64(0), []byte(`{ "a": "\u003c" }`), true, true, 0)
	f.Fuzz(func(t *testing.T, epID, evID, gen, trigger string, seq uint64, nanos int64, data []byte, refanned, retry bool, more int) {
		ev := events.Event{ID: evID, Type: events.MemberInvited, GroupID: epID, Version: seq, OccurredAt: time.Unix(0, nanos).UTC(), Data: data}
		j := Job{EndpointID: epID, Event: ev, StreamSeq: seq, Trigger: trigger, Generation: gen, EnqueuedAt: time.Unix(0, nanos), Refanned: refanned, Retry: retry}
		for i := range more % 4 {
			u := Unit{Event: ev, StreamSeq: seq + uint64(i)}
			if i%2 == 1 {
				u.Batch = []events.Event{ev}
			}
			j.More = append(j.More, u)
		}
		jobAgrees(t, "fuzz", j)
	})
}

func FuzzDecodeJob(f *testing.F) {
	for _, n := range []int{1, 3} {
		o, err := benchJob(n).out(false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(o.Body)
	}
	f.Add([]byte(`{"endpoint_id":"x","event":{"data":{"a" : [1,2]}},"more":[{"stream_seq":3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { decodeAgrees(t, "fuzz", data) })
}

// The Deliverer's Signer follows the endpoint's active secrets: a
// rotation adds a key, an expiry drops one, and until then the same
// Signer (and its keyed HMACs) is reused.
func TestDelivererSignerFollowsSecrets(t *testing.T) {
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	a := &App{}
	d := &Deliverer{a: a}
	s1, _ := delivery.GenerateSecret()
	s2, _ := delivery.GenerateSecret()
	k1, _ := delivery.ParseSecret(s1)
	k2, _ := delivery.ParseSecret(s2)
	ep := endpoint.Endpoint{ID: "ep1", Secrets: []endpoint.Secret{{Value: s1}}}
	sign := func(s *delivery.Signer) string { return s.Sign("msg_1", now, []byte(`{}`)) }
	first := d.signer(ep, now)
	if got, want := sign(first), delivery.Sign("msg_1", now, []byte(`{}`), [][]byte{k1}); got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if d.signer(ep, now) != first {
		t.Fatal("unchanged secrets made a new Signer")
	}
	expires := now.Add(time.Hour)
	ep.Secrets = []endpoint.Secret{{Value: s2}, {Value: s1, ExpiresAt: &expires}}
	rotated := d.signer(ep, now)
	if got, want := sign(rotated), delivery.Sign("msg_1", now, []byte(`{}`), [][]byte{k2, k1}); got != want {
		t.Fatalf("after rotation: signature %q, want both keys' %q", got, want)
	}
	later := now.Add(2 * time.Hour)
	expired := d.signer(ep, later)
	if got, want := expired.Sign("msg_1", later, []byte(`{}`)), delivery.Sign("msg_1", later, []byte(`{}`), [][]byte{k2}); got != want {
		t.Fatalf("after expiry: signature %q, want the new key's alone %q", got, want)
	}
	if got, want := expired.Sign("msg_1", later, []byte(`{}`)), delivery.Sign("msg_1", later, []byte(`{}`), ep.ActiveKeys(later)); got != want {
		t.Fatalf("Signer %q disagrees with ActiveKeys' %q", got, want)
	}
}
