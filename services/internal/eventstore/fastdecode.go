package eventstore

import (
	"strconv"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/jsonx"
)

// The commit decoding fast path (ADR 0035: JSON decoding of commits was a
// third of the projector's own CPU in a rebuild; ADR 0074: still about
// twice as fast as the best library measured).
//
// Every commit in ROSTER_EVENTS is written by Append as json.Marshal of
// events.Commit: keys spelled exactly as the struct tags, each once, event
// data a JSON object. fastDecodeCommit parses exactly that shape in one
// pass with jsonx, without reflection. On anything else (an unknown key or
// one in another case, a key twice, null, invalid UTF-8 or a surrogate
// escape in a string, a number that is not a plain integer, data that is
// not an object, invalid JSON, trailing bytes) it gives up, and
// DecodeCommit uses json.Unmarshal, which then decides. So it never
// accepts what encoding/json rejects, and decodes to the same value:
// FuzzFastDecodeCommit checks both, and TestFastDecodeTakesStoreOutput
// that it does not give up on what the store writes.

var (
	commitFields = jsonx.NewFields("command_id", "generated_command_id", "command", "group_id", "events")
	eventFields  = jsonx.NewFields("id", "type", "schema_version", "group_id", "version", "occurred_at",
		"command_id", "correlation_id", "actor", "data")
)

// fastDecodeCommit decodes data into c; false means "give up" (c is then
// meaningless).
func fastDecodeCommit(data []byte, c *events.Commit) bool {
	l := jsonx.Lexer{Data: data}
	var ok bool
	return l.Object(commitFields, func(i int) bool {
		switch i {
		case 0:
			c.CommandID, ok = l.String()
		case 1:
			c.GeneratedCommandID, ok = l.Bool()
		case 2:
			c.Command, ok = l.String()
		case 3:
			c.GroupID, ok = l.String()
		case 4:
			ok = decodeEvents(&l, &c.Events)
		}
		return ok
	}) && l.End()
}

// decodeEvents reads the events array (not null).
func decodeEvents(l *jsonx.Lexer, out *[]events.Event) bool {
	evs := make([]events.Event, 0, 1)
	ok := l.Array(func() bool {
		var e events.Event
		if !decodeEvent(l, &e) {
			return false
		}
		evs = append(evs, e)
		return true
	})
	*out = evs
	return ok
}

func decodeEvent(l *jsonx.Lexer, e *events.Event) bool {
	var ok bool
	return l.Object(eventFields, func(i int) bool {
		switch i {
		case 0:
			e.ID, ok = l.String()
		case 1:
			var s string
			s, ok = l.String()
			e.Type = events.Type(s)
		case 2:
			var v int64
			v, ok = l.Int(strconv.IntSize)
			e.SchemaVersion = int(v)
		case 3:
			e.GroupID, ok = l.String()
		case 4:
			e.Version, ok = l.Uint()
		case 5:
			e.OccurredAt, ok = l.Time()
		case 6:
			e.CommandID, ok = l.String()
		case 7:
			e.CorrelationID, ok = l.String()
		case 8:
			e.Actor, ok = l.String()
		case 9:
			// encoding/json copies a RawMessage's bytes as they are.
			if l.Pos >= len(l.Data) || l.Data[l.Pos] != '{' {
				return false
			}
			var raw []byte
			raw, ok = l.Value()
			e.Data = append([]byte(nil), raw...)
		}
		return ok
	})
}
