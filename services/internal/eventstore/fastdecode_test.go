package eventstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// storeCommits returns commits as the event store writes them: decided by
// the domain, every event type, with and without the optional fields.
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

// What the event store writes takes the fast path and decodes exactly as
// encoding/json decodes it.
func TestFastDecodeTakesStoreOutput(t *testing.T) {
	for _, b := range storeCommits(t) {
		var fast, slow events.Commit
		if !fastDecodeCommit(b, &fast) {
			t.Fatalf("fast path gave up on store output %s", b)
		}
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %+v\nslow %+v", fast, slow)
		}
	}
}

// Anything but the store's exact shape goes to encoding/json, which decides.
func TestFastDecodeGivesUp(t *testing.T) {
	ev := `{"id":"e","type":"member.invited","schema_version":1,"group_id":"g","version":1,"occurred_at":"2026-01-02T03:04:05Z","command_id":"c","actor":"o","data":{"user_ids":["a"]}}`
	for _, tc := range []struct {
		name string
		in   string
		want bool // the fast path takes it
	}{
		{name: "store shape", in: `{"command_id":"c","command":"invite","group_id":"g","events":[` + ev + `]}`, want: true},
		{name: "whitespace and any key order", in: " {\n\"events\" : [ " + ev + " ] , \"group_id\":\"g\" } ", want: true},
		{name: "empty events", in: `{"group_id":"g","events":[]}`, want: true},
		{name: "unknown key", in: `{"group_id":"g","extra":1,"events":[]}`},
		{name: "key in another case", in: `{"Group_ID":"g","events":[]}`},
		{name: "key twice", in: `{"group_id":"g","group_id":"h","events":[]}`},
		{name: "null events", in: `{"group_id":"g","events":null}`},
		{name: "escaped string", in: `{"group_id":"g\u0041\n","events":[]}`, want: true},
		{name: "non-ASCII string", in: `{"group_id":"gé","events":[]}`, want: true},
		{name: "invalid UTF-8", in: "{\"group_id\":\"g\xff\",\"events\":[]}"},
		{name: "surrogate escape", in: `{"group_id":"g\ud83d\ude00","events":[]}`},
		{name: "escaped key", in: `{"group\u005fid":"g","events":[]}`},
		{name: "negative schema version", in: `{"events":[{"schema_version":-1}]}`, want: true},
		{name: "trailing bytes", in: `{"group_id":"g","events":[]}x`},
		{name: "two values", in: `{"group_id":"g","events":[]}{}`},
		{name: "version with exponent", in: `{"events":[{"version":1e3}]}`},
		{name: "negative version", in: `{"events":[{"version":-1}]}`},
		{name: "version overflow", in: `{"events":[{"version":18446744073709551616}]}`},
		{name: "leading zero", in: `{"events":[{"version":01}]}`},
		{name: "data not an object", in: `{"events":[{"data":[1]}]}`},
		{name: "data invalid", in: `{"events":[{"data":{"a":tru}}]}`},
		{name: "data bad escape", in: `{"events":[{"data":{"a":"\x"}}]}`},
		{name: "data bad number", in: `{"events":[{"data":{"a":1.}}]}`},
		{name: "bad time", in: `{"events":[{"occurred_at":"yesterday"}]}`},
		{name: "truncated", in: `{"group_id":"g","events":[`},
		{name: "not an object", in: `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c events.Commit
			if got := fastDecodeCommit([]byte(tc.in), &c); got != tc.want {
				t.Fatalf("fast path took it: %v, want %v", got, tc.want)
			}
			var slow events.Commit
			if tc.want && (json.Unmarshal([]byte(tc.in), &slow) != nil || !reflect.DeepEqual(c, slow)) {
				t.Fatalf("fast %+v\nslow %+v", c, slow)
			}
		})
	}
}

// Whatever the fast path accepts, encoding/json accepts and decodes to the
// same value.
func FuzzFastDecodeCommit(f *testing.F) {
	for _, b := range storeCommits(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"events":[{"data":{"a":[1.5e-3,true,null,"\u00e9\n"],"b":{}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast events.Commit
		if !fastDecodeCommit(b, &fast) {
			return
		}
		var slow events.Commit
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", err, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("decodes differ for %q:\nfast %+v\nslow %+v", b, fast, slow)
		}
	})
}

func BenchmarkDecodeCommit(b *testing.B) {
	commits := storeCommits(b)
	in := commits[1]
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			var c events.Commit
			if !fastDecodeCommit(in, &c) {
				b.Fatal("gave up")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var c events.Commit
			if err := json.Unmarshal(in, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
