package eventstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// parseAck reads what encoding/json reads from every ack it accepts, and
// leaves everything else (errors, other shapes, odd numbers) to it.
func TestParseAckAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"stream":"ROSTER_EVENTS","seq":1}`, true},
		{`{"stream":"ROSTER_EVENTS","seq":18446744073709551615,"duplicate":true}`, true},
		{`{"stream":"S","seq":0}`, true},
		{`{"stream":"S","seq":18446744073709551616}`, false},
		{`{"stream":"S","seq":012}`, false},
		{`{"stream":"S","seq":}`, false},
		{`{"stream":"","seq":5}`, false},
		{`{"stream":"S\"x","seq":5}`, false},
		{`{"stream":"S","domain":"hub","seq":5}`, false},
		{`{"stream":"S","seq":5,"domain":"hub"}`, false},
		{`{"stream":"S","seq":5,"duplicate":false}`, false},
		{`{"stream":"S","seq":5} `, false},
		{`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 4"},"stream":"S","seq":0}`, false},
		{`{"type":"io.nats.jetstream.api.v1.pub_ack","stream":"S","seq":5}`, false},
		{``, false},
	} {
		seq, dup, ok := parseAck([]byte(tc.in))
		if ok != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.in, ok, tc.fast)
			continue
		}
		if !ok {
			continue
		}
		var want struct {
			Stream    string `json:"stream"`
			Seq       uint64 `json:"seq"`
			Duplicate bool   `json:"duplicate"`
		}
		if err := json.Unmarshal([]byte(tc.in), &want); err != nil || want.Stream == "" {
			t.Errorf("%s: fast path reads what encoding/json refuses (%v)", tc.in, err)
			continue
		}
		if seq != want.Seq || dup != want.Duplicate {
			t.Errorf("%s: have seq %d dup %v, encoding/json %d %v", tc.in, seq, dup, want.Seq, want.Duplicate)
		}
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add([]byte(`{"stream":"ROSTER_EVENTS","seq":1}`))
	f.Add([]byte(`{"stream":"S","seq":7,"duplicate":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, dup, ok := parseAck(b)
		if !ok {
			return
		}
		var want struct {
			Stream    string `json:"stream"`
			Seq       uint64 `json:"seq"`
			Duplicate bool   `json:"duplicate"`
		}
		if err := json.Unmarshal(b, &want); err != nil || want.Stream == "" || seq != want.Seq || dup != want.Duplicate {
			t.Fatalf("%q: fast %d %v, encoding/json %+v (%v)", b, seq, dup, want, err)
		}
	})
}

// WithReception writes the headers ReceptionOf reads, as WithHeader
// writes each.
func TestWithReceptionRoundTrips(t *testing.T) {
	r := Reception{ReceivedAt: time.UnixMicro(1767225600123456).UTC(), PayloadSHA256: strings.Repeat("ab", 32), PayloadSize: 93, LatencyUS: 417}
	have := &nats.Msg{Header: nats.Header{}}
	WithReception(r)(have)
	want := &nats.Msg{Header: nats.Header{}}
	for _, o := range []AppendOption{
		WithHeader(HeaderReceivedAt, "1767225600123456"), WithHeader(HeaderPayloadSHA256, r.PayloadSHA256),
		WithHeader(HeaderPayloadSize, "93"), WithHeader(HeaderLatency, "417"),
	} {
		o(want)
	}
	if !reflect.DeepEqual(have.Header, want.Header) {
		t.Fatalf("have %v, want %v", have.Header, want.Header)
	}
	if got := ReceptionOf(have.Header); got != r {
		t.Fatalf("ReceptionOf: have %+v, want %+v", got, r)
	}
}
