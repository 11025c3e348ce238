package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goccy "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// Decoding a stored commit: the one decoder every reader of ROSTER_EVENTS
// uses (the store's own loads, the projector, history queries, replay,
// webhook fan-out and redelivery, the audit sink), so that they agree on
// what a commit is.
//
// The body is what Append writes: events.Commit in encoding/json's
// format. Decoding goes through github.com/goccy/go-json, the one JSON
// library of Roster's hot paths (docs/adr/0074): on commits it is as fast
// as the hand-written decoder it replaced and three times faster than
// encoding/json, and it reads the same values (TestCommitCodecMatchesEncodingJSON,
// FuzzDecodeCommit hold it to that). Encoding is encode.go's (ADR 0114). A body it refuses goes to encoding/json, which then
// decides and words the error.

// ErrMalformed means a message body is not a commit: invalid JSON, or no
// group or no events. The log is immutable, so a reader that meets one
// either stops (the projector must never skip a commit) or skips it with a
// warning (redelivery); it never guesses.
var ErrMalformed = errors.New("malformed commit")

// ErrUpcast means a commit decoded but some of its events could not be
// upcast to their current schema version (an event type or version newer
// than this code). Decode still returns the commit, with those events as
// stored and every other event upcast, so that a reader which may pass
// events on as stored (webhooks) can; one that folds them must not.
var ErrUpcast = errors.New("cannot upcast event")

// Stored is a commit with its position in the stream.
type Stored struct {
	Seq    uint64
	Commit events.Commit
	// Time is when the stream stored the commit.
	Time time.Time
	// Reception is what the message's headers say about the command's
	// reception (zero fields where they say nothing).
	Reception Reception
}

// Message is one stored commit message as a reader got it: from a
// consumer, a direct get or a message get.
type Message struct {
	Seq    uint64
	Time   time.Time
	Data   []byte
	Header nats.Header // nil when the read gave none
}

// MessageOf takes a consumer's message apart.
func MessageOf(msg jetstream.Msg) (Message, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return Message{}, fmt.Errorf("commit message metadata: %w", err)
	}
	return Message{Seq: meta.Sequence.Stream, Time: meta.Timestamp, Data: msg.Data(), Header: msg.Headers()}, nil
}

// Decode decodes a stored commit message, its events upcast to their
// current schema version (events.Upcast). Errors wrap ErrMalformed or
// ErrUpcast; with ErrUpcast the returned Stored is complete (see there).
func Decode(m Message) (Stored, error) {
	st, err := DecodeAsStored(m)
	if err != nil {
		return st, err
	}
	var upErrs []error
	for i, e := range st.Commit.Events {
		up, err := events.Upcast(e)
		if err != nil {
			upErrs = append(upErrs, err)
			continue
		}
		st.Commit.Events[i] = up
	}
	if upErrs != nil {
		return st, fmt.Errorf("commit %d: %w: %w", m.Seq, ErrUpcast, errors.Join(upErrs...))
	}
	return st, nil
}

// DecodeAsStored decodes a stored commit message with its events exactly
// as stored (schema version and data): for the audit trail, which records
// what the log holds.
func DecodeAsStored(m Message) (Stored, error) {
	c, err := DecodeCommit(m.Data)
	if err == nil && (c.GroupID == "" || len(c.Events) == 0) {
		err = fmt.Errorf("decode commit: %w: no group or no events", ErrMalformed)
	}
	if err != nil {
		return Stored{Seq: m.Seq, Time: m.Time}, err
	}
	return Stored{Seq: m.Seq, Commit: c, Time: m.Time, Reception: ReceptionOf(m.Header)}, nil
}

// DecodeCommit decodes a commit message body, its events as stored, as
// encoding/json would. Decode and DecodeAsStored also refuse a commit
// without a group or without events (Append's callers never write one);
// DecodeCommit leaves that to its caller, so that readers which word their
// own refusal (the audit sink's dead-letter reason) keep it.
func DecodeCommit(data []byte) (events.Commit, error) {
	var c events.Commit
	if goccy.Unmarshal(data, &c) != nil {
		c = events.Commit{}
		if err := json.Unmarshal(data, &c); err != nil {
			return events.Commit{}, fmt.Errorf("decode commit: %w: %w", ErrMalformed, err)
		}
	}
	return c, nil
}
