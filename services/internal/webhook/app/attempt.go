package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

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

// send makes one attempt to deliver ev (and the events batched with it)
// to ep, signed with the Signer signer gives (a Deliverer's cache; nil
// signs with keys parsed for this request).
func (a *App) send(ctx context.Context, ep endpoint.Endpoint, signer func(endpoint.Endpoint, time.Time) *delivery.Signer,
	ev events.Event, batch ...events.Event) outcome {
	msgID := delivery.MessageID(ep.ID, ev.ID)
	var (
		b   delivery.Built
		err error
	)
	if ep.Format == endpoint.FormatOpenIM {
		b, err = delivery.BuildOpenIM(ep.URL, msgID, ev, batch...)
	} else {
		b, err = delivery.BuildStandard(ep.URL, ev)
	}
	now := a.now()
	if err != nil {
		// Only an unencodable event gets here; it will never encode.
		return outcome{url: ep.URL, started: now, verdict: delivery.Verdict{Class: delivery.ClassInvalidResponse, Message: "cannot encode event: " + err.Error()}}
	}
	// Standard Webhooks headers go on both formats: OpenIM receivers
	// ignore them, and they let any receiver verify and deduplicate.
	if signer != nil {
		delivery.SignHeadersWith(b.Headers, msgID, now, b.Body, signer(ep, now))
	} else {
		delivery.SignHeaders(b.Headers, msgID, now, b.Body, ep.ActiveKeys(now))
	}
	resp := a.cfg.Sender.Do(ctx, delivery.Request{URL: b.URL, Headers: b.Headers, Body: b.Body, Timeout: time.Duration(ep.Timeout)})
	o := outcome{url: b.URL, reqHdr: b.Headers, reqBody: b.Body, resp: resp, started: now}
	if resp.Err != nil && ctx.Err() != nil {
		o.canceled = true
	}
	if ep.Format == endpoint.FormatOpenIM {
		o.verdict = delivery.JudgeOpenIM(resp)
	} else {
		o.verdict = delivery.JudgeStandard(resp)
	}
	a.cfg.Metrics.Latency.Observe(resp.Latency.Seconds())
	class := string(o.verdict.Class)
	if o.verdict.Success {
		class = "success"
	}
	a.cfg.Metrics.Attempts.WithLabelValues(class).Inc()
	return o
}

// attemptRecord is what the delivery knows of an attempt besides its HTTP
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
	// redactedURL is the request URL as recorded (delivery.RedactURL),
	// when the caller has it at hand; "" has record redact it.
	redactedURL string
}

// record stores the attempt in the audit trail and returns once JetStream
// holds it: a job is acknowledged only after its attempt's record is safe,
// so no acknowledged attempt is missing from the trail.
func (a *App) record(ctx context.Context, ep endpoint.Endpoint, ev events.Event, r attemptRecord, o outcome) error {
	sum := sha256.Sum256(o.reqBody)
	url := r.redactedURL
	if url == "" {
		url = delivery.RedactURL(o.url)
	}
	return a.cfg.Audit.RecordDurable(ctx, audit.DeliveryAttempt{
		ID: r.id, EventID: ev.ID, EventType: string(ev.Type), GroupID: ev.GroupID, EndpointID: ep.ID,
		URL: url, Format: string(ep.Format), Attempt: r.attempt, Trigger: r.trigger, Repeat: r.repeat,
		RequestHeaders: flatten(o.reqHdr, delivery.HeaderSignature), RequestSize: len(o.reqBody),
		RequestHash: hex.EncodeToString(sum[:]), ResponseStatus: o.resp.Status,
		ResponseHeaders: flatten(o.resp.Headers), ResponseBody: string(o.resp.Body),
		Success: o.verdict.Success, FailureClass: string(o.verdict.Class), FailureMsg: o.verdict.Message,
		LatencyUS: o.resp.Latency.Microseconds(), StartedAt: o.started.UTC(), NextAttemptAt: r.next, State: r.state,
	})
}

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
			out[lowerName(k)] = strings.Join(vs, ", ")
		}
	}
	return out
}

// lowerNames holds the lower-case form of the header names every attempt
// records (its own request's, a receiver's usual answer), so recording
// them allocates no name.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Content-Type", delivery.HeaderID, delivery.HeaderTimestamp, delivery.HeaderSignature,
		"Content-Length", "Date", "Server", "Connection", "Cache-Control"} {
		m[http.CanonicalHeaderKey(k)] = strings.ToLower(k)
	}
	return m
}()

func lowerName(k string) string {
	if l, ok := lowerNames[k]; ok {
		return l
	}
	return strings.ToLower(k)
}
