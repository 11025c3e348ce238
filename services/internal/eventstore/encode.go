package eventstore

import (
	"encoding/json"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/jsonx"
)

// Encoding a commit on the append path without reflection. Every command
// encodes its commit once (Append) and, in roster-groups, its events again
// in the reply: after goccy that was still about a tenth of roster-groups'
// CPU per command (docs/performance.md, issue 14, second session). The
// fast path writes exactly encoding/json's bytes for what the command side
// puts in a commit: ids and names that need no escaping (ids are validated
// subject-safe), data that is already compact, valid JSON with nothing
// encoding/json would escape (the command side encodes it with
// json.Marshal), times in years 0 to 9999. Anything else (a string to
// escape, data to compact or refuse, a time encoding/json refuses) makes
// the caller encode the whole value with encoding/json, which then writes
// the bytes, or the error, it always wrote (FuzzEncodeCommit).

// EncodeCommit is the body Append stores: the bytes json.Marshal writes
// for c.
func EncodeCommit(c events.Commit) ([]byte, error) {
	if b, ok := appendCommit(make([]byte, 0, commitSize(&c)), &c); ok {
		return b, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, errEncode(err)
	}
	return b, nil
}

func errEncode(err error) error { return &encodeError{err} }

type encodeError struct{ err error }

func (e *encodeError) Error() string { return "encode commit: " + e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// commitSize is an upper bound of c's encoding on the fast path, so that
// the buffer is allocated once.
func commitSize(c *events.Commit) int {
	n := 96 + len(c.CommandID) + len(c.Command) + len(c.GroupID)
	for i := range c.Events {
		n += jsonx.EventSize(&c.Events[i])
	}
	return n
}

func appendCommit(b []byte, c *events.Commit) ([]byte, bool) {
	var ok bool
	b = append(b, `{"command_id":`...)
	if b, ok = jsonx.AppendPlain(b, c.CommandID); !ok {
		return b, false
	}
	if c.GeneratedCommandID {
		b = append(b, `,"generated_command_id":true`...)
	}
	b = append(b, `,"command":`...)
	if b, ok = jsonx.AppendPlain(b, c.Command); !ok {
		return b, false
	}
	b = append(b, `,"group_id":`...)
	if b, ok = jsonx.AppendPlain(b, c.GroupID); !ok {
		return b, false
	}
	b = append(b, `,"events":`...)
	if b, ok = AppendEvents(b, c.Events); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// AppendEvents appends evs as encoding/json encodes a []events.Event
// (null for nil). ok is false when a value is off the fast path described
// above: the caller then encodes its whole value with encoding/json.
func AppendEvents(b []byte, evs []events.Event) ([]byte, bool) {
	if evs == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = jsonx.AppendEvent(b, &evs[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}
