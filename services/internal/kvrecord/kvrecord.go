// Package kvrecord is the machinery shared by Roster's record stores that
// keep one record per id under a revision (the webhook endpoints, the
// policy hooks): what a store must know of its record kind (Codec), the
// errors it returns and their wire codes (Errors), and Mem, the in-memory
// store that keeps the same contract for fast use-case tests. The NATS KV
// store is in jskv. The package imports only the standard library and
// events, so the use cases may map store errors without knowing NATS.
package kvrecord

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/events"
)

// Codec is what a store knows of one record kind. It is met by a value of
// the kind's own package (endpoint.Records, hookrec.Records) without that
// package importing this one, so the domain stays pure.
type Codec[T any] interface {
	// Noun names a record in error texts ("endpoint": "create endpoint
	// \"e1\": ...", "list endpoints: ...").
	Noun() string
	// Key is the record's id, its key in the store.
	Key(v T) string
	// Encode gives the bytes the store keeps (secrets sealed).
	Encode(v T) ([]byte, error)
	// Decode reads bytes Encode wrote. stale says that once rewritten the
	// record's earlier revisions must not stay readable (they hold
	// plaintext secrets a sealing store now replaces).
	Decode(b []byte) (v T, stale bool, err error)
	// Clone returns a copy sharing no slice or map with v: an update
	// function changes the copy, never the record read.
	Clone(v T) T
	// Compare orders List.
	Compare(a, b T) int
}

// Errors are the sentinels of one record kind that every store of it
// returns, wrapped (compare with errors.Is).
type Errors struct {
	NotFound error
	Exists   error
	// Contention: an update or delete lost the compare-and-set race too
	// often.
	Contention error
	// NoChange may be returned by an update function to say the record is
	// already as wanted; the store then writes nothing.
	NoChange error
}

// Wire gives a store failure its wire code, keeping the store's text as
// the message and the failure as the cause. Anything else is returned as
// it is: the edge maps a transport failure to "unavailable" and the rest
// to "internal".
func (s Errors) Wire(err error) error {
	if err == nil {
		return nil
	}
	var code events.Code
	switch {
	case errors.Is(err, s.NotFound):
		code = events.CodeNotFound
	case errors.Is(err, s.Exists):
		code = events.CodeAlreadyExists
	case errors.Is(err, s.Contention):
		code = events.CodeConflict
	case errors.Is(err, context.DeadlineExceeded):
		code = events.CodeUnavailable
	default:
		return err
	}
	return events.Wrap(code, err, "%s", err.Error())
}
