package audit

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// publisherOutput is what audit.Publisher puts on the wire for a few
// records of every kind, including the awkward values json.Marshal escapes.
func publisherOutput(t testing.TB) map[string]struct {
	kind Kind
	data []byte
} {
	t.Helper()
	rejected := SampleCommand(2, "A")
	rejected.Outcome, rejected.ErrorCode, rejected.ErrorMsg, rejected.Version = "rejected", "forbidden", `actor "nobody" may not <invite> & "remove"`, 0
	noNext := SampleAttempt(3, "ep1")
	noNext.NextAttemptAt, noNext.RequestHeaders, noNext.ResponseHeaders = nil, nil, map[string]string{}
	noNext.ResponseBody = "línea 1\nline 2\t\u2028 ☃ \x01"
	auto := SampleChange(4, "ep1")
	auto.Automatic, auto.Reason, auto.Change = true, "3 failed attempts in a row", "paused"
	event := Event{ID: "ev-1", Type: "member.invited", SchemaVersion: 1, GroupID: "A", Version: 2, StreamSeq: 7,
		CommandID: "c1", CorrelationID: "corr", Actor: "o", OccurredAt: t0.Add(123456789 * time.Nanosecond),
		Data: `{"user_ids":["a","b"],"note":"\u00e9"}`}
	records := map[string]Record{
		"command":          SampleCommand(1, "A"),
		"rejected command": rejected,
		"attempt":          SampleAttempt(1, "ep1"),
		"attempt, no next": noNext,
		"change":           SampleChange(1, "ep1"),
		"automatic pause":  auto,
		"event":            event,
	}
	out := map[string]struct {
		kind Kind
		data []byte
	}{}
	for name, r := range records {
		data, err := json.Marshal(r) // what Publisher.Record does
		if err != nil {
			t.Fatal(err)
		}
		out[name] = struct {
			kind Kind
			data []byte
		}{r.AuditKind(), data}
	}
	return out
}

// TestFastDecodeTakesPublisherOutput: the fast path must not give up on
// what our own publisher writes (the sink would silently slow down), and
// must decode it exactly as encoding/json does.
func TestFastDecodeTakesPublisherOutput(t *testing.T) {
	for name, rec := range publisherOutput(t) {
		t.Run(name, func(t *testing.T) {
			fast, ok := fastDecode(rec.kind, rec.data)
			if !ok {
				t.Fatalf("fast path gave up on %s", rec.data)
			}
			strict, err := strictDecode(rec.kind, rec.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, strict) {
				t.Errorf("want %#v, have %#v", strict, fast)
			}
		})
	}
}

// TestFastDecodeGivesUp lists inputs the fast path must leave to
// encoding/json: either they are errors (whose message strictJSON writes)
// or encoding/json reads them in ways the fast path does not repeat.
func TestFastDecodeGivesUp(t *testing.T) {
	good := string(publisherOutput(t)["command"].data)
	tests := []struct {
		name    string
		data    string
		wantErr bool // what DecodeRecord then says
	}{
		{name: "not JSON", data: "not json", wantErr: true},
		{name: "unknown field", data: strings.Replace(good, `"actor"`, `"secret":"s","actor"`, 1), wantErr: true},
		{name: "key in another case", data: strings.Replace(good, `"actor"`, `"Actor"`, 1), wantErr: true},
		{name: "key twice", data: strings.Replace(good, `"actor":"owner"`, `"actor":"x","actor":"owner"`, 1), wantErr: true},
		{name: "escaped key", data: strings.Replace(good, `"actor"`, `"act\u006fr"`, 1)},
		{name: "null string", data: strings.Replace(good, `"actor":"owner"`, `"actor":null`, 1)},
		{name: "trailing data", data: good + "x", wantErr: true},
		{name: "trailing brace", data: good + "}", wantErr: true},
		{name: "fraction", data: strings.Replace(good, `"latency_us":850`, `"latency_us":850.0`, 1), wantErr: true},
		{name: "negative version", data: strings.Replace(good, `"version":2`, `"version":-2`, 1), wantErr: true},
		{name: "leading zero", data: strings.Replace(good, `"latency_us":850`, `"latency_us":0850`, 1), wantErr: true},
		{name: "overflow", data: strings.Replace(good, `"latency_us":850`, `"latency_us":9223372036854775808`, 1), wantErr: true},
		{name: "bad time", data: strings.Replace(good, `"2026-03-01T12:00:00.001Z"`, `"yesterday"`, 1), wantErr: true},
		{name: "invalid UTF-8", data: strings.Replace(good, `"owner"`, "\"own\xffer\"", 1), wantErr: true},
		{name: "lone surrogate", data: strings.Replace(good, `"owner"`, `"own\ud800er"`, 1), wantErr: true},
		{name: "control character", data: strings.Replace(good, `"owner"`, "\"own\ner\"", 1), wantErr: true},
		{name: "trailing comma", data: strings.Replace(good, `}`, `,}`, 1), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := fastDecode(KindCommand, []byte(tc.data)); ok {
				t.Fatalf("want the fast path to give up on %s", tc.data)
			}
			_, err := DecodeRecord(KindCommand, []byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Errorf("DecodeRecord: want error %v, have %v", tc.wantErr, err)
			}
		})
	}
}

// TestFastFieldsMatchStructTags keeps the fast path's field sets in step
// with the records' JSON tags: a field added to a record without a fast
// decoder would send every record through the slow path, and a decoder
// without a field would accept what strictJSON refuses.
func TestFastFieldsMatchStructTags(t *testing.T) {
	tests := []struct {
		name   string
		record any
		fields []string
	}{
		{name: "command", record: Command{}, fields: names(commandFields)},
		{name: "event", record: Event{}, fields: names(eventFields)},
		{name: "delivery attempt", record: DeliveryAttempt{}, fields: names(deliveryAttemptFields)},
		{name: "endpoint change", record: EndpointChange{}, fields: names(endpointChangeFields)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			typ := reflect.TypeOf(tc.record)
			for i := range typ.NumField() {
				want = append(want, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
			}
			sort.Strings(want)
			if strings.Join(want, " ") != strings.Join(tc.fields, " ") {
				t.Errorf("want fields %v, have %v", want, tc.fields)
			}
		})
	}
}

func names[T any](fs fieldSet[T]) []string {
	var out []string
	for _, f := range fs.fields {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// FuzzFastDecodeAgreesWithStrict: whatever the input, the fast path either
// gives up or decodes exactly what encoding/json (unknown fields
// disallowed) decodes without error.
func FuzzFastDecodeAgreesWithStrict(f *testing.F) {
	kinds := []Kind{KindCommand, KindEvent, KindDeliveryAttempt, KindEndpointChange}
	for _, rec := range publisherOutput(f) {
		for i, k := range kinds {
			if k == rec.kind {
				f.Add(uint8(i), rec.data)
			}
		}
	}
	f.Add(uint8(2), []byte(`{"request_headers":{"a":"1","a":"2"},"next_attempt_at":null,"success":true}`))
	f.Add(uint8(0), []byte(` {"id":"x\u00e9\n","version":0,"latency_us":-0} `))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := kinds[int(k)%len(kinds)]
		fast, ok := fastDecode(kind, data)
		if !ok {
			return
		}
		strict, err := strictDecode(kind, data)
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("%q: encoding/json says %#v, fast path %#v", data, strict, fast)
		}
	})
}

// BenchmarkDecodeRecord compares the fast path with encoding/json on a
// command record as the publisher writes it.
func BenchmarkDecodeRecord(b *testing.B) {
	data := publisherOutput(b)["command"].data
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeRecord(KindCommand, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strictJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := strictDecode(KindCommand, data)
			if err != nil {
				b.Fatal(err)
			}
			if err := Validate(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
