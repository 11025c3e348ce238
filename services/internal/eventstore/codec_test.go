package eventstore

import (
	"encoding/json"
	"reflect"
	"syscall"
	"testing"
	"time"

	goccy "github.com/goccy/go-json"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// storeCommits returns commits as the event store writes them (in
// encoding/json's bytes): decided by the domain, every event type, with
// and without the optional fields.
func storeCommits(t testing.TB) [][]byte {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	var out [][]byte
	add := func(c events.Commit) {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	st := group.New("g-1")
	for i, cmd := range []group.Command{
		group.Create{Name: "n", Intro: "x", JoinPolicy: events.PolicyApproval, Members: []string{"a", "b"}},
		group.Invite{UserIDs: []string{"c", "d_e-F9"}},
		group.MuteMember{UserID: "c", Duration: time.Hour},
		group.Remove{UserIDs: []string{"d_e-F9"}},
	} {
		changes, err := group.Decide(st, "owner", cmd, at)
		if err != nil {
			t.Fatal(err)
		}
		c := events.Commit{CommandID: "cmd", Command: cmd.Kind(), GroupID: st.ID, GeneratedCommandID: i%2 == 0}
		for j, ch := range changes {
			data, err := json.Marshal(ch.Data)
			if err != nil {
				t.Fatal(err)
			}
			e := events.Event{ID: "ev", Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type], GroupID: st.ID,
				Version: st.Version + uint64(j) + 1, OccurredAt: at.Add(time.Duration(i) * time.Second), CommandID: "cmd", Actor: "owner", Data: data}
			if i%2 == 1 {
				e.CorrelationID = "corr"
			}
			c.Events = append(c.Events, e)
		}
		for _, e := range c.Events {
			if _, err := st.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
		add(c)
	}
	// Every event type's data shape, and several events in one commit.
	c := events.Commit{CommandID: "c2", Command: "many", GroupID: "g2"}
	for typ, v := range events.SchemaVersions {
		data, err := json.Marshal(events.NewData(typ))
		if err != nil {
			t.Fatal(err)
		}
		c.Events = append(c.Events, events.Event{ID: "e", Type: typ, SchemaVersion: v, GroupID: "g2",
			Version: uint64(len(c.Events) + 1), OccurredAt: at.In(time.FixedZone("x", 3600)), Actor: "o", Data: data})
	}
	add(c)
	return out
}

// The commit codec writes encoding/json's bytes and reads encoding/json's
// values on everything the store writes.
func TestCommitCodecMatchesEncodingJSON(t *testing.T) {
	for _, b := range storeCommits(t) {
		var want events.Commit
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		have, err := DecodeCommit(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("decode:\nhave %+v\nwant %+v", have, want)
		}
		enc, err := EncodeCommit(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(b) {
			t.Fatalf("encode:\nhave %s\nwant %s", enc, b)
		}
		// What the store writes takes the fast path, which the fuzz
		// holds to encoding/json's bytes on everything else.
		if _, ok := appendCommit(nil, &want); !ok {
			t.Fatalf("encode: %s fell back to encoding/json", b)
		}
	}
}

// Bodies off the store's shape decode as encoding/json decodes them, or
// fail as it fails.
func TestDecodeCommitAgreesOnOddBodies(t *testing.T) {
	ev := `{"id":"e","type":"member.invited","schema_version":1,"group_id":"g","version":1,"occurred_at":"2026-01-02T03:04:05Z","command_id":"c","actor":"o","data":{"user_ids":["a"]}}`
	for _, tc := range []struct{ name, in string }{
		{"whitespace and any key order", " {\n\"events\" : [ " + ev + " ] , \"group_id\":\"g\" } "},
		{"unknown key", `{"group_id":"g","extra":1,"events":[` + ev + `]}`},
		{"key in another case", `{"Group_ID":"g","events":[` + ev + `]}`},
		{"key twice", `{"group_id":"g","group_id":"h","events":[` + ev + `]}`},
		{"escaped and non-ASCII strings", `{"group_id":"g\u0041é","events":[` + ev + `]}`},
		{"invalid UTF-8", "{\"group_id\":\"g\xff\",\"events\":[" + ev + "]}"},
		{"surrogate escapes", `{"group_id":"g\ud83d\ude00\ud800","events":[` + ev + `]}`},
		{"data not an object", `{"group_id":"g","events":[{"version":1,"data":[1, 2]}]}`},
		{"data with spaces", `{"group_id":"g","events":[{"version":1,"data":{ "a" : 1 }}]}`},
		{"negative schema version", `{"group_id":"g","events":[{"schema_version":-1}]}`},
		{"trailing bytes", `{"group_id":"g","events":[` + ev + `]}x`},
		{"two values", `{"group_id":"g","events":[` + ev + `]}{}`},
		{"version with exponent", `{"group_id":"g","events":[{"version":1e3}]}`},
		{"version overflow", `{"group_id":"g","events":[{"version":18446744073709551616}]}`},
		{"data invalid", `{"group_id":"g","events":[{"data":{"a":tru}}]}`},
		{"bad time", `{"group_id":"g","events":[{"occurred_at":"yesterday"}]}`},
		{"truncated", `{"group_id":"g","events":[`},
		{"not an object", `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) { agree(t, []byte(tc.in)) })
	}
}

// agree fails unless DecodeCommit and json.Unmarshal agree on b.
func agree(t *testing.T, b []byte) {
	t.Helper()
	var want events.Commit
	errW := json.Unmarshal(b, &want)
	have, errH := DecodeCommit(b)
	if (errW == nil) != (errH == nil) {
		t.Fatalf("%q: encoding/json %v, DecodeCommit %v", b, errW, errH)
	}
	if errW == nil && !reflect.DeepEqual(have, want) {
		t.Fatalf("%q:\nhave %+v\nwant %+v", b, have, want)
	}
}

func FuzzDecodeCommit(f *testing.F) {
	for _, b := range storeCommits(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"group_id":"g","events":[{"data":{"a":[1.5e-3,true,null,"\u00e9\n"],"b":{}}}]}`))
	f.Add([]byte(`{"GROUP_ID":"g\ud800","events":[{"Version":1}],"group_id":"h"}`))
	f.Fuzz(agree)
}

// Whatever goes into a commit, EncodeCommit writes json.Marshal's bytes
// (HTML escapes, U+2028, invalid UTF-8, raw data compacted, times).
func FuzzEncodeCommit(f *testing.F) {
	f.Add("g<&>", "c\u2028", "a\xff", `{ "a" : [1, 2.50, "\u00e9"] }`, int64(1767225600), int64(5), true)
	f.Add("g", "c", "é", `{}`, int64(0), int64(0), false)
	f.Add("g", "c", "o", `not json`, int64(-62135596800), int64(999999999), false)
	// On the fast path (encode.go): what the command side writes.
	f.Add("g-1", "cmd_9", "owner", `{"user_ids":["a","b"],"reason":"x y\n\u003c"}`, int64(1767225600), int64(0), false)
	f.Add("g-1", "c", "o", `{"a":[1.5e-3,true,null,{}],"b":"\u2028"}`, int64(253402300799), int64(120), true)
	f.Add("g", "c", "o", `{"a":1} `, int64(1), int64(1), false)
	f.Add("g", "c", "o", `{"a":"<"}`, int64(1), int64(1), false)
	f.Add("g", "c", "o", `{"a":" "}`, int64(1), int64(1), false)
	f.Add("g", "c", "o", `{"a":tru}`, int64(1), int64(1), false)
	f.Fuzz(func(t *testing.T, g, cmd, actor, data string, sec, nsec int64, generated bool) {
		c := events.Commit{CommandID: cmd, Command: cmd, GroupID: g, GeneratedCommandID: generated, Events: []events.Event{{
			ID: g, Type: events.Type(actor), SchemaVersion: int(nsec), GroupID: g, Version: uint64(sec),
			OccurredAt: time.Unix(sec%(1<<34), nsec).In(time.FixedZone("z", int(nsec%86400))), Actor: actor,
			CorrelationID: data, Data: json.RawMessage(data)}}}
		want, errW := json.Marshal(c)
		have, errH := EncodeCommit(c)
		if (errW == nil) != (errH == nil) {
			t.Fatalf("encoding/json %v, EncodeCommit %v", errW, errH)
		}
		if errW == nil && string(want) != string(have) {
			t.Fatalf("\nhave %s\nwant %s", have, want)
		}
	})
}

// BenchmarkCommitCodec compares the codec with encoding/json on the
// commit of an invite (scripts/jsonbench measures every candidate).
func BenchmarkCommitCodec(b *testing.B) {
	in := storeCommits(b)[1]
	var c events.Commit
	if err := json.Unmarshal(in, &c); err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := DecodeCommit(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			var c events.Commit
			if err := json.Unmarshal(in, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := EncodeCommit(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The encoder before encode.go's fast path (issue 14, first session).
	b.Run("encode/goccy", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := goccy.Marshal(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := json.Marshal(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU reports cpu-ns/op, the process's user and system CPU per
// iteration (garbage collection included): on a shared machine the wall
// time follows the other load, the CPU time much less. Call its result
// when the loop has ended (defer reportCPU(b)()).
func reportCPU(b *testing.B) func() {
	start := processCPU(b)
	return func() { b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op") }
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
