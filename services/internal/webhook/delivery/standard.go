package delivery

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/jsonx"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// StandardPayload is the body of a standard-format delivery: the Standard
// Webhooks envelope {type, timestamp, data} whose data is the Roster event.
type StandardPayload struct {
	Type      string       `json:"type"`
	Timestamp time.Time    `json:"timestamp"`
	Data      events.Event `json:"data"`
}

// Built is a request ready to send, minus its per-attempt signature.
type Built struct {
	URL     string
	Body    []byte
	Headers http.Header
}

// BuildStandard builds the standard-format request for e.
func BuildStandard(url string, e events.Event) (Built, error) {
	body, err := StandardBody(e)
	if err != nil {
		return Built{}, err
	}
	return Built{URL: url, Body: body, Headers: newHeaders()}, nil
}

// StandardBody is the body of e's standard-format request: the bytes
// json.Marshal writes for its StandardPayload, written without reflection
// when AppendEvent can (FuzzStandardBody holds the two to the same bytes).
func StandardBody(e events.Event) ([]byte, error) {
	p := StandardPayload{Type: string(e.Type), Timestamp: e.OccurredAt.UTC(), Data: e}
	b := make([]byte, 0, 80+len(e.Type)+jsonx.EventSize(&e))
	b = append(b, `{"type":`...)
	b, ok := jsonx.AppendVerbatim(b, p.Type)
	if ok {
		b = append(b, `,"timestamp":`...)
		b, ok = jsonx.AppendTime(b, p.Timestamp)
	}
	if ok {
		b = append(b, `,"data":`...)
		b, ok = jsonx.AppendEvent(b, &p.Data)
	}
	if ok {
		return append(b, '}'), nil
	}
	return json.Marshal(p)
}

// Canonical forms of the headers every request carries: set straight into
// the map, they skip http.Header.Set's canonicalisation on every attempt
// (the wire bytes are the same).
var (
	canonContentType = http.CanonicalHeaderKey("Content-Type")
	canonID          = http.CanonicalHeaderKey(HeaderID)
	canonTimestamp   = http.CanonicalHeaderKey(HeaderTimestamp)
	canonSignature   = http.CanonicalHeaderKey(HeaderSignature)
)

// newHeaders returns a request's headers before signing, sized for the
// signature headers.
func newHeaders() http.Header {
	h := make(http.Header, 4)
	h[canonContentType] = []string{"application/json"}
	return h
}

// SignHeaders sets the Standard Webhooks headers for one attempt at ts.
// With no keys no signature header is set.
func SignHeaders(h http.Header, id string, ts time.Time, body []byte, keys [][]byte) {
	vs := setIDHeaders(h, id, ts)
	if len(keys) > 0 {
		vs[2] = Sign(id, ts, body, keys)
		h[canonSignature] = vs[2:3:3]
	}
}

// SignHeadersWith is SignHeaders with s's keys.
func SignHeadersWith(h http.Header, id string, ts time.Time, body []byte, s *Signer) {
	vs := setIDHeaders(h, id, ts)
	if s != nil && s.Keys() > 0 {
		vs[2] = s.Sign(id, ts, body)
		h[canonSignature] = vs[2:3:3]
	}
}

// setIDHeaders sets webhook-id and webhook-timestamp and returns their
// values' backing array, whose third slot is the signature's: one
// allocation for the three values (each header's slice is capped, so an
// append to one never writes into another).
func setIDHeaders(h http.Header, id string, ts time.Time) []string {
	vs := make([]string, 3)
	vs[0], vs[1] = id, strconv.FormatInt(ts.Unix(), 10)
	h[canonID], h[canonTimestamp] = vs[0:1:1], vs[1:2:2]
	return vs
}

// Verdict is the outcome of one response under a format's rules.
type Verdict struct {
	Success bool
	Class   Class
	Message string
}

// JudgeStandard: only 2xx is success; a longer-than-cap body is stored
// truncated and does not change the verdict (the status is the receiver's
// answer).
func JudgeStandard(r Response) Verdict {
	if r.Err != nil {
		return Verdict{Class: r.Class, Message: r.Err.Error()}
	}
	if c := StatusClass(r.Status); c != ClassNone {
		return Verdict{Class: c, Message: "HTTP " + strconv.Itoa(r.Status)}
	}
	return Verdict{Success: true}
}
