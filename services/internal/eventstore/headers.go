package eventstore

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers of a commit message: the one place their names are spelled.
// Consumers may route on them without decoding the body; a reader that
// decodes the message gets them parsed in Stored.
const (
	// Set by Append on every commit.
	HeaderCommandID   = "Roster-Command-Id"
	HeaderCommand     = "Roster-Command"
	HeaderLastVersion = "Roster-Version" // the group's version after the commit
	HeaderEventCount  = "Roster-Event-Count"

	// Set by roster-groups through WithHeader: what the audit trail's
	// accepted commands row needs about the reception, which the commit
	// body lacks (docs/adr/0025).
	HeaderReceivedAt    = "Roster-Received-At"    // unix microseconds
	HeaderPayloadSHA256 = "Roster-Payload-Sha256" // hex of the request body's SHA-256
	HeaderPayloadSize   = "Roster-Payload-Size"   // request body bytes
	HeaderLatency       = "Roster-Latency-Us"     // reception to append request, microseconds
)

// Reception is what a commit's headers say about the command's reception.
// A field is zero when its header is absent or malformed: commits appended
// by an older roster-groups, or by tools, carry none.
type Reception struct {
	ReceivedAt    time.Time // UTC, microsecond precision
	PayloadSHA256 string    // 64 hex digits, or empty
	PayloadSize   int
	LatencyUS     int64
}

// WithReception sets the reception headers ReceptionOf reads (what
// roster-groups passes on every commit): WithHeader for each of them,
// in one option and one allocation for the four values.
func WithReception(r Reception) AppendOption {
	return func(m *nats.Msg) {
		v := [4]string{
			strconv.FormatInt(r.ReceivedAt.UnixMicro(), 10), r.PayloadSHA256,
			strconv.Itoa(r.PayloadSize), strconv.FormatInt(r.LatencyUS, 10),
		}
		vals := v[:]
		// The names are canonical MIME keys already, as Header.Set would
		// make them.
		m.Header[HeaderReceivedAt] = vals[0:1:1]
		m.Header[HeaderPayloadSHA256] = vals[1:2:2]
		m.Header[HeaderPayloadSize] = vals[2:3:3]
		m.Header[HeaderLatency] = vals[3:4:4]
	}
}

// ReceptionOf parses the reception headers of a commit message.
func ReceptionOf(h nats.Header) Reception {
	var r Reception
	if h == nil {
		return r
	}
	if us, err := strconv.ParseInt(h.Get(HeaderReceivedAt), 10, 64); err == nil {
		r.ReceivedAt = time.UnixMicro(us).UTC()
	}
	if sum := h.Get(HeaderPayloadSHA256); len(sum) == 64 {
		r.PayloadSHA256 = sum
	}
	if n, err := strconv.Atoi(h.Get(HeaderPayloadSize)); err == nil && n >= 0 {
		r.PayloadSize = n
	}
	if us, err := strconv.ParseInt(h.Get(HeaderLatency), 10, 64); err == nil && us >= 0 {
		r.LatencyUS = us
	}
	return r
}

// LastVersionOf reads the group version a commit message's
// HeaderLastVersion states, which saves decoding the body when only the
// head's version is wanted; ok is false when the header is absent or
// malformed (decode the body then).
func LastVersionOf(h nats.Header) (v uint64, ok bool) {
	if h == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(h.Get(HeaderLastVersion), 10, 64)
	return v, err == nil
}
