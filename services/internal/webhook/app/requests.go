package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// The requests and replies of roster-webhooks (their JSON shapes are the
// public contract, schemas/webhooks/*.json). Each Parse function decodes a
// body with events/wire, the one strict decoder, and checks its fields as
// the subject's JSON Schema states them, before any use case runs.

// EndpointReply carries one endpoint (secret values removed); Secret is
// set only by create and rotate_secret, the one time a secret is shown.
type EndpointReply struct {
	Endpoint endpoint.Endpoint `json:"endpoint"`
	Secret   string            `json:"secret,omitempty"`
}

// CreateRequest is roster.webhook.endpoint.create.
type CreateRequest struct {
	Actor         string              `json:"actor"`
	ID            string              `json:"id,omitempty"`
	URL           string              `json:"url"`
	Description   string              `json:"description,omitempty"`
	EventTypes    []string            `json:"event_types,omitempty"`
	GroupIDs      []string            `json:"group_ids,omitempty"`
	Format        endpoint.Format     `json:"format,omitempty"` // "" or absent: standard
	Secret        string              `json:"secret,omitempty"`
	Timeout       *endpoint.Duration  `json:"timeout,omitempty"`
	RateLimit     float64             `json:"rate_limit,omitempty"`
	RetrySchedule []endpoint.Duration `json:"retry_schedule,omitempty"`
	Ordered       bool                `json:"ordered,omitempty"`
	Paused        bool                `json:"paused,omitempty"`
}

// ParseCreate decodes a create request and checks its fields as the JSON
// Schema states them; endpoint.Validate then checks the endpoint as a
// whole (URL shape, event type names, durations, limits).
func ParseCreate(data []byte) (CreateRequest, error) {
	var r CreateRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	if r.URL == "" {
		return r, events.Errorf(events.CodeInvalidArgument, "url: required")
	}
	errs := []error{events.ValidateID("actor", r.Actor), wire.Name("url", r.URL, endpoint.MaxURLLen),
		wire.Text("description", r.Description, endpoint.MaxDescription), wire.Name("secret", r.Secret, wire.MaxTokenLen)}
	if r.ID != "" {
		errs = append(errs, events.ValidateID("id", r.ID))
	}
	errs = append(errs, tokens("event_types", r.EventTypes), ids("group_ids", r.GroupIDs), rateLimit(&r.RateLimit))
	if r.Format != "" {
		errs = append(errs, format(&r.Format))
	}
	return r, firstErr(errs...)
}

func ids(field string, list []string) error {
	for i, v := range list {
		if err := events.ValidateID(fmt.Sprintf("%s[%d]", field, i), v); err != nil {
			return err
		}
	}
	return nil
}

func format(f *endpoint.Format) error {
	if f != nil && *f != endpoint.FormatStandard && *f != endpoint.FormatOpenIM {
		return events.Errorf(events.CodeInvalidArgument, "format: %q, want %q or %q", *f, endpoint.FormatStandard, endpoint.FormatOpenIM)
	}
	return nil
}

func rateLimit(r *float64) error {
	if r != nil && (*r < 0 || *r > endpoint.MaxRateLimit) {
		return events.Errorf(events.CodeInvalidArgument, "rate_limit: must be in [0, %d]", endpoint.MaxRateLimit)
	}
	return nil
}

// tokens checks a list of one-line tokens (event type patterns, ids).
func tokens(field string, list []string) error {
	for i, v := range list {
		if err := wire.Name(fmt.Sprintf("%s[%d]", field, i), v, wire.MaxTokenLen); err != nil {
			return err
		}
	}
	return nil
}

// UpdateRequest is roster.webhook.endpoint.update: only the given fields
// change.
type UpdateRequest struct {
	Actor         string               `json:"actor"`
	ID            string               `json:"id"`
	URL           *string              `json:"url,omitempty"`
	Description   *string              `json:"description,omitempty"`
	EventTypes    *[]string            `json:"event_types,omitempty"`
	GroupIDs      *[]string            `json:"group_ids,omitempty"`
	Format        *endpoint.Format     `json:"format,omitempty"`
	Timeout       *endpoint.Duration   `json:"timeout,omitempty"`
	RateLimit     *float64             `json:"rate_limit,omitempty"`
	RetrySchedule *[]endpoint.Duration `json:"retry_schedule,omitempty"`
	Ordered       *bool                `json:"ordered,omitempty"`
}

// ParseUpdate decodes an update request and checks its fields.
func ParseUpdate(data []byte) (UpdateRequest, error) {
	var r UpdateRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("actor", r.Actor), events.ValidateID("id", r.ID)}
	if r.URL != nil {
		// A given url replaces the endpoint's: it cannot be empty (the
		// schema's minLength 1; found by FuzzWebhookRequestsAgreeWithSchemas).
		if *r.URL == "" {
			errs = append(errs, events.Errorf(events.CodeInvalidArgument, "url: must not be empty"))
		}
		errs = append(errs, wire.Name("url", *r.URL, endpoint.MaxURLLen))
	}
	if r.Description != nil {
		errs = append(errs, wire.Text("description", *r.Description, endpoint.MaxDescription))
	}
	if r.EventTypes != nil {
		errs = append(errs, tokens("event_types", *r.EventTypes))
	}
	if r.GroupIDs != nil {
		errs = append(errs, ids("group_ids", *r.GroupIDs))
	}
	errs = append(errs, format(r.Format), rateLimit(r.RateLimit))
	return r, firstErr(errs...)
}

// IDRequest names one endpoint (get, delete, pause, resume, test).
type IDRequest struct {
	Actor  string `json:"actor,omitempty"`
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// MaxReasonLen bounds the reason of a pause, resume or delete, in
// characters.
const MaxReasonLen = 1024

// ParseID decodes a request naming one endpoint; get takes no actor.
func ParseID(data []byte, needActor bool) (IDRequest, error) {
	var r IDRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("id", r.ID)}
	if needActor || r.Actor != "" {
		errs = append(errs, events.ValidateID("actor", r.Actor))
	}
	errs = append(errs, wire.Text("reason", r.Reason, MaxReasonLen))
	return r, firstErr(errs...)
}

// ListReply is roster.webhook.endpoint.list's reply.
type ListReply struct {
	Endpoints []endpoint.Endpoint `json:"endpoints"`
}

// ParseList accepts an empty body or an empty object.
func ParseList(data []byte) error {
	var r struct{}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return wire.Decode(data, &r)
}

// RotateRequest is roster.webhook.endpoint.rotate_secret.
type RotateRequest struct {
	Actor  string `json:"actor"`
	ID     string `json:"id"`
	Secret string `json:"secret,omitempty"`
	// Grace is how long the previous secrets keep signing (default 24h;
	// "0s" retires them at once).
	Grace *endpoint.Duration `json:"grace,omitempty"`
}

// ParseRotate decodes a rotate_secret request and checks its ids.
func ParseRotate(data []byte) (RotateRequest, error) {
	var r RotateRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	return r, firstErr(events.ValidateID("actor", r.Actor), events.ValidateID("id", r.ID), wire.Name("secret", r.Secret, wire.MaxTokenLen))
}

// TestReply is roster.webhook.endpoint.test's reply: one synchronous
// attempt of a synthetic "webhook.test" event.
type TestReply struct {
	Success      bool   `json:"success"`
	Status       int    `json:"status,omitempty"`
	FailureClass string `json:"failure_class,omitempty"`
	FailureMsg   string `json:"failure_message,omitempty"`
	LatencyMS    int64  `json:"latency_ms"`
	WebhookID    string `json:"webhook_id"`
	ResponseBody string `json:"response_body,omitempty"` // first 1 KiB
}

// RedeliverRequest is roster.webhook.redeliver: re-send the events stored
// in a range of ROSTER_EVENTS to one endpoint. Give since (RFC 3339) or
// since_seq; until / until_seq bound the range (default: the stream's end
// when the request arrives).
type RedeliverRequest struct {
	Actor      string     `json:"actor"`
	EndpointID string     `json:"endpoint_id"`
	Since      *time.Time `json:"since,omitempty"`
	SinceSeq   uint64     `json:"since_seq,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	UntilSeq   uint64     `json:"until_seq,omitempty"`
}

// RedeliverReply says what was enqueued. When Truncated, call again with
// since_seq = NextSinceSeq.
type RedeliverReply struct {
	Enqueued     int    `json:"enqueued"`
	Scanned      int    `json:"scanned_commits"`
	FirstSeq     uint64 `json:"first_seq,omitempty"`
	LastSeq      uint64 `json:"last_seq,omitempty"`
	Truncated    bool   `json:"truncated"`
	NextSinceSeq uint64 `json:"next_since_seq,omitempty"`
	Generation   string `json:"generation"`
}

// ParseRedeliver decodes a redeliver request and checks its ids.
func ParseRedeliver(data []byte) (RedeliverRequest, error) {
	var r RedeliverRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	return r, firstErr(events.ValidateID("actor", r.Actor), events.ValidateID("endpoint_id", r.EndpointID), strictTimes(data))
}

// rfc3339 is RFC 3339's date-time production, as the JSON Schema's
// "date-time" format reads it: Go's time parser also takes a one-digit
// hour, which the schema refuses (found by
// FuzzWebhookRequestsAgreeWithSchemas).
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

// strictTimes checks the text of since and until (already decoded, and so
// known to be strings or absent) against rfc3339.
func strictTimes(data []byte) error {
	var raw struct {
		Since *string `json:"since"`
		Until *string `json:"until"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return events.Errorf(events.CodeInvalidArgument, "since, until: %v", err)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"since", raw.Since}, {"until", raw.Until}} {
		if f.v != nil && !rfc3339.MatchString(*f.v) {
			return events.Errorf(events.CodeInvalidArgument, "%s: %q is not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm))", f.name, *f.v)
		}
	}
	return nil
}
