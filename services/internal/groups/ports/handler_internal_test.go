package ports

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

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
