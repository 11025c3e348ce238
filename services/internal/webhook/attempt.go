package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// outcome is one HTTP attempt and its verdict.
type outcome struct {
	url      string
	reqHdr   http.Header
	reqBody  []byte
	resp     delivery.Response
	verdict  delivery.Verdict
	started  time.Time
	canceled bool // the dispatcher is stopping: not an attempt to record
}

// send makes one attempt to deliver ev to ep.
func (d *Dispatcher) send(ctx context.Context, ep endpoint.Endpoint, ev events.Event) outcome {
	msgID := delivery.MessageID(ep.ID, ev.ID)
	var (
		b   delivery.Built
		err error
	)
	if ep.Format == endpoint.FormatOpenIM {
		b, err = delivery.BuildOpenIM(ep.URL, msgID, ev)
	} else {
		b, err = delivery.BuildStandard(ep.URL, ev)
	}
	now := d.cfg.Now()
	if err != nil {
		// Only an unencodable event gets here; it will never encode.
		return outcome{url: ep.URL, started: now, verdict: delivery.Verdict{Class: delivery.ClassInvalidResponse, Message: "cannot encode event: " + err.Error()}}
	}
	// Standard Webhooks headers go on both formats: OpenIM receivers
	// ignore them, and they let any receiver verify and deduplicate.
	delivery.SignHeaders(b.Headers, msgID, now, b.Body, ep.ActiveKeys(now))
	resp := d.client.Do(ctx, delivery.Request{URL: b.URL, Headers: b.Headers, Body: b.Body, Timeout: time.Duration(ep.Timeout)})
	o := outcome{url: b.URL, reqHdr: b.Headers, reqBody: b.Body, resp: resp, started: now}
	if resp.Err != nil && ctx.Err() != nil {
		o.canceled = true
	}
	if ep.Format == endpoint.FormatOpenIM {
		o.verdict = delivery.JudgeOpenIM(resp)
	} else {
		o.verdict = delivery.JudgeStandard(resp)
	}
	d.metrics.latency.Observe(resp.Latency.Seconds())
	class := string(o.verdict.Class)
	if o.verdict.Success {
		class = "success"
	}
	d.metrics.attempts.WithLabelValues(class).Inc()
	return o
}

// recordDurably stores r and returns once JetStream holds it: a job is
// acknowledged only after its attempt's record is safe, so no acknowledged
// attempt is missing from the trail.
func (d *Dispatcher) recordDurably(ctx context.Context, r audit.Record) error {
	return d.cfg.Audit.RecordDurable(ctx, r)
}

// attemptRecord is what the worker knows of an attempt besides its HTTP
// outcome.
type attemptRecord struct {
	id      string
	attempt int
	trigger string
	// repeat: an earlier delivery of the same attempt may have sent this
	// request already (ADR 0026).
	repeat bool
	next   *time.Time
	state  string
}

// record publishes the attempt to the audit trail and returns once it is
// stored (see recordDurably).
func (d *Dispatcher) record(ctx context.Context, ep endpoint.Endpoint, ev events.Event, a attemptRecord, o outcome) error {
	sum := sha256.Sum256(o.reqBody)
	return d.recordDurably(ctx, audit.DeliveryAttempt{
		ID: a.id, EventID: ev.ID, EventType: string(ev.Type), GroupID: ev.GroupID, EndpointID: ep.ID,
		URL: redactURL(o.url), Format: string(ep.Format), Attempt: a.attempt, Trigger: a.trigger, Repeat: a.repeat,
		RequestHeaders: flatten(o.reqHdr, delivery.HeaderSignature), RequestSize: len(o.reqBody),
		RequestHash: hex.EncodeToString(sum[:]), ResponseStatus: o.resp.Status,
		ResponseHeaders: flatten(o.resp.Headers), ResponseBody: string(o.resp.Body),
		Success: o.verdict.Success, FailureClass: string(o.verdict.Class), FailureMsg: o.verdict.Message,
		LatencyUS: o.resp.Latency.Microseconds(), StartedAt: o.started.UTC(), NextAttemptAt: a.next, State: a.state,
	})
}

// redactURL drops user info and the query (where receivers put tokens):
// audit rows never carry secrets.
func redactURL(raw string) string { return delivery.RedactURL(raw) }

func flatten(h http.Header, drop ...string) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		skip := false
		for _, d := range drop {
			if strings.EqualFold(k, d) {
				skip = true
			}
		}
		if !skip {
			out[strings.ToLower(k)] = strings.Join(vs, ", ")
		}
	}
	return out
}
