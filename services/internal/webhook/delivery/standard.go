package delivery

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rosterhq/roster/events"
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
	body, err := json.Marshal(StandardPayload{Type: string(e.Type), Timestamp: e.OccurredAt.UTC(), Data: e})
	if err != nil {
		return Built{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Built{URL: url, Body: body, Headers: h}, nil
}

// SignHeaders sets the Standard Webhooks headers for one attempt at ts.
// With no keys no signature header is set.
func SignHeaders(h http.Header, id string, ts time.Time, body []byte, keys [][]byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(keys) > 0 {
		h.Set(HeaderSignature, Sign(id, ts, body, keys))
	}
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
