package ports

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// The reply of each kind of result, as the edge encodes it: the success
// body, Roster-Duplicate on a repeat, and the one error convention (an
// internal error's detail stays out of the reply).
func TestReplyMapping(t *testing.T) {
	ok := &app.Reply{GroupID: "A", Version: 2, CommandID: "c", Events: []events.Event{}}
	for _, tc := range []struct {
		name                    string
		res                     app.Result
		body, status, duplicate string
	}{
		{"accepted", app.Result{Reply: ok}, `{"group_id":"A","version":2,"command_id":"c","events":[]}`, "", ""},
		{"duplicate", app.Result{Reply: ok, Duplicate: true}, `{"group_id":"A","version":2,"command_id":"c","events":[]}`, "", "true"},
		{"typed", app.Result{Err: events.Errorf(events.CodeNotFound, `group "Z" not found`)}, `{"error":{"code":"not_found","message":"group \"Z\" not found"}}`, "404", ""},
		{"internal", app.Result{Err: fmt.Errorf("fold own commit: %w", errors.New("secret"))}, `{"error":{"code":"internal","message":"internal error"}}`, "500", ""},
		{"unavailable keeps its text", app.Result{Err: events.Wrap(events.CodeUnavailable, nats.ErrTimeout, "%s", nats.ErrTimeout)}, `{"error":{"code":"unavailable","message":"nats: timeout"}}`, "503", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := reply(tc.res)
			var msg *nats.Msg
			if err != nil {
				msg = edge.ErrorMsg(err)
			} else if msg, err = edge.ReplyMsg(rep); err != nil {
				t.Fatal(err)
			}
			if string(msg.Data) != tc.body {
				t.Fatalf("body: want %s, have %s", tc.body, msg.Data)
			}
			if have := msg.Header.Get(micro.ErrorCodeHeader); have != tc.status {
				t.Fatalf("%s: want %q, have %q", micro.ErrorCodeHeader, tc.status, have)
			}
			if have := msg.Header.Get(DuplicateHeader); have != tc.duplicate {
				t.Fatalf("%s: want %q, have %q", DuplicateHeader, tc.duplicate, have)
			}
			if tc.status != "" {
				var body edge.ErrorBody
				_ = json.Unmarshal(msg.Data, &body)
				if want := string(body.Error.Code) + ": " + body.Error.Message; msg.Header.Get(micro.ErrorHeader) != want {
					t.Fatalf("%s: want %q, have %q", micro.ErrorHeader, want, msg.Header.Get(micro.ErrorHeader))
				}
			}
		})
	}
}

// An accepted command's reply takes the hand-written path (FuzzEncodeReply
// holds every reply, on it or off it, to json.Marshal's bytes).
func TestReplyFastPath(t *testing.T) {
	r := benchReply(t)
	b, ok := r.AppendJSON(nil)
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || string(b) != string(want) {
		t.Fatalf("fast path %v:\nhave %s\nwant %s", ok, b, want)
	}
}

// Whatever a reply holds, encodeReply writes json.Marshal's bytes (HTML
// escapes, U+2028, invalid UTF-8, raw data compacted, times, no events).
func FuzzEncodeReply(f *testing.F) {
	f.Add("g<&>", "c\u2028", "a\xff", `{ "a" : [1, 2.50, "\u00e9"] }`, int64(1767225600), int64(5), uint8(1))
	f.Add("g", "c", "é", `{}`, int64(0), int64(0), uint8(0))
	f.Add("g", "c", "o", `not json`, int64(-62135596800), int64(999999999), uint8(2))
	// On the fast path: what an acknowledged command replies.
	f.Add("g-1", "cmd_9", "owner", `{"user_ids":["a","b"],"reason":"x y\n\u003c"}`, int64(1767225600), int64(0), uint8(1))
	f.Add("g-1", "c", "o", `{"a":[1.5e-3,true,null,{}],"b":"\u2028"}`, int64(253402300799), int64(120), uint8(3))
	f.Fuzz(func(t *testing.T, g, cmd, actor, data string, sec, nsec int64, n uint8) {
		r := &app.Reply{GroupID: g, Version: uint64(sec), CommandID: cmd}
		if n > 0 {
			r.Events = []events.Event{}
		}
		for i := range int(n % 4) {
			r.Events = append(r.Events, events.Event{
				ID: g, Type: events.Type(actor), SchemaVersion: int(nsec) + i, GroupID: g, Version: uint64(sec) + uint64(i),
				OccurredAt: time.Unix(sec%(1<<34), nsec).In(time.FixedZone("z", int(nsec%86400))), CommandID: cmd, Actor: actor,
				CorrelationID: data, Data: json.RawMessage(data)})
		}
		want, errW := json.Marshal(r)
		have, errH := encodeReply(r)
		if (errW == nil) != (errH == nil) {
			t.Fatalf("encoding/json %v, encodeReply %v", errW, errH)
		}
		if errW == nil && string(want) != string(have) {
			t.Fatalf("\nhave %s\nwant %s", have, want)
		}
	})
}
