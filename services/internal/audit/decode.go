package audit

import (
	"errors"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// How the sink reads the bytes of its two sources. It lives beside
// fastjson.go (the record fast path) and is handed to the auditstream
// sources by the wiring (audit.go).

// DecodeRecord parses a record published on roster.audit.<kind> and checks
// that every table column can hold it. It is the sink's only way in, so a
// record that passes always fits its table.
//
// JSON is read strictly, under events/wire's Record rules (exact names, no
// duplicates, no unknown members, no trailing data, valid UTF-8; any text
// and nulls allowed). The records audit.Publisher writes take a one-pass
// fast path (fastjson.go) that accepts only what those rules accept;
// anything else goes through wire.Record, which decides and explains.
func DecodeRecord(kind Kind, data []byte) (Record, error) {
	r, ok := fastDecode(kind, data)
	if !ok {
		var err error
		if r, err = strictDecode(kind, data); err != nil {
			return nil, err
		}
	}
	if err := record.Validate(r); err != nil {
		return nil, err
	}
	return r, nil
}

// strictDecode decodes data as a record of kind with wire.Record.
func strictDecode(kind Kind, data []byte) (Record, error) {
	switch kind {
	case KindPolicyHookChange:
		return strictAs[PolicyHookChange](data)
	case KindCommand:
		return strictAs[Command](data)
	case KindEvent:
		return strictAs[Event](data)
	case KindDeliveryAttempt:
		return strictAs[DeliveryAttempt](data)
	case KindEndpointChange:
		return strictAs[EndpointChange](data)
	case KindPolicyDecision:
		// Few per second at most: the strict path alone.
		return strictAs[PolicyDecision](data)
	}
	return nil, record.Malformed("unknown record kind %q", kind)
}

// strictAs decodes data into a T under wire.Record; the error says why in
// wire's words, wrapped in ErrMalformed (it becomes the dead letter's
// reason).
func strictAs[T Record](data []byte) (Record, error) {
	var v T
	if err := wire.Record.Decode(data, &v); err != nil {
		var e *events.Error
		if errors.As(err, &e) {
			return v, record.Malformed("decode: %s", e.Message)
		}
		return v, record.Malformed("decode: %v", err)
	}
	return v, nil
}

// decodeAuditMsg turns a ROSTER_AUDIT message into its record. Dead
// letters live in the same stream and are skipped (no records).
func decodeAuditMsg(m auditstream.Msg) ([]record.Record, error) {
	if m.Subject == DeadLetterSubject {
		return nil, nil
	}
	r, err := DecodeRecord(Kind(strings.TrimPrefix(m.Subject, SubjectPrefix)), m.Data)
	if err != nil {
		return nil, err
	}
	return []record.Record{r}, nil
}

// decodeCommitMsg turns a ROSTER_EVENTS commit into one event record per
// event and the command's accepted commands record. The commit is decoded
// by the event store's one reader of commits, its events as stored (the
// trail records what the log holds, not an upcast).
func decodeCommitMsg(m auditstream.Msg) ([]record.Record, error) {
	if m.StreamSeq == 0 {
		return nil, record.Malformed("metadata: no stream sequence")
	}
	st, err := eventstore.DecodeAsStored(eventstore.Message{Seq: m.StreamSeq, Data: m.Data, Header: m.Header})
	if err != nil {
		return nil, record.Malformed("%v", err)
	}
	evs, err := record.EventsFromCommit(st.Commit, st.Seq)
	if err != nil {
		return nil, err
	}
	out := make([]record.Record, 0, len(evs)+1)
	for _, e := range evs {
		out = append(out, e)
	}
	if cmd, ok := record.CommandFromCommit(st.Commit, reception(st.Reception)); ok {
		out = append(out, cmd)
	}
	return out, nil
}
