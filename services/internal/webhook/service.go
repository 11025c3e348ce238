package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Subjects of the roster-webhooks micro service (public contract).
const (
	SubjectPrefix    = "roster.webhook.endpoint."
	SubjectRedeliver = "roster.webhook.redeliver"
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes = 64 << 10
	// DefaultRotationGrace is how long a rotated-out secret keeps signing.
	DefaultRotationGrace = 24 * time.Hour
)

// Verbs lists the endpoint verbs (roster.webhook.endpoint.<verb>).
var Verbs = []string{"create", "update", "get", "list", "delete", "pause", "resume", "rotate_secret", "test"}

// serve runs the roster-webhooks micro service until ctx ends.
func (d *Dispatcher) serve(ctx context.Context) error {
	if d.cfg.SecretKeys == nil {
		d.log.Warn().Str("bucket", endpoint.Bucket).Msg("no webhook secret key configured: endpoint secrets are stored in plaintext")
	} else {
		d.log.Info().Str("key_id", d.cfg.SecretKeys.CurrentKeyID()).Msg("webhook endpoint secrets sealed at rest")
	}
	svc, err := micro.AddService(d.cfg.NC, micro.Config{
		Name: ServiceName, Version: d.cfg.Version, QueueGroup: ServiceName,
		Description: "Roster webhook endpoints: manage, test, redeliver",
	})
	if err != nil {
		return fmt.Errorf("add service %s: %w", ServiceName, err)
	}
	defer func() { _ = svc.Stop() }()
	handlers := map[string]func(context.Context, []byte) (any, error){
		"create": d.handleCreate, "update": d.handleUpdate, "get": d.handleGet, "list": d.handleList,
		"delete": d.handleDelete, "pause": d.handlePause, "resume": d.handleResume,
		"rotate_secret": d.handleRotate, "test": d.handleTest,
	}
	var tests sync.WaitGroup
	defer tests.Wait()
	for _, verb := range Verbs {
		handler := d.wrap(ctx, handlers[verb])
		if verb == "test" {
			handler = d.wrapConcurrent(ctx, MaxConcurrentTests, &tests, handlers[verb])
		}
		if err := svc.AddEndpoint(verb, handler, micro.WithEndpointSubject(SubjectPrefix+verb)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", verb, err)
		}
	}
	if err := svc.AddEndpoint("redeliver", d.wrap(ctx, d.handleRedeliver), micro.WithEndpointSubject(SubjectRedeliver)); err != nil {
		return fmt.Errorf("add endpoint redeliver: %w", err)
	}
	d.serving.Store(true)
	defer d.serving.Store(false)
	<-ctx.Done()
	return nil
}

type errorReply struct {
	Error struct {
		Code    events.Code `json:"code"`
		Message string      `json:"message"`
	} `json:"error"`
}

// wrap turns a handler into a micro handler: bounded request size, typed
// error replies {"error":{"code","message"}}. micro runs an endpoint's
// handler one request at a time.
func (d *Dispatcher) wrap(ctx context.Context, h func(context.Context, []byte) (any, error)) micro.HandlerFunc {
	return func(req micro.Request) {
		body, code, msg := d.answer(ctx, req.Subject(), req.Data(), h)
		if code != "" {
			_ = req.Error(string(code), msg, body)
			return
		}
		_ = req.Respond(body)
	}
}

// MaxConcurrentTests bounds the endpoint.test calls one dispatcher runs at
// once: each waits on a receiver for up to the endpoint's timeout, so
// they must not queue behind each other.
const MaxConcurrentTests = 32

// wrapConcurrent is wrap for slow handlers: each request runs in its own
// goroutine, at most limit at once (the next request waits for a slot),
// and answers on its reply subject itself, since micro's Request may not
// be used after the handler returned. wg tracks the goroutines.
func (d *Dispatcher) wrapConcurrent(ctx context.Context, limit int, wg *sync.WaitGroup, h func(context.Context, []byte) (any, error)) micro.HandlerFunc {
	sem := make(chan struct{}, limit)
	return func(req micro.Request) {
		subject, data, reply := req.Subject(), req.Data(), req.Reply()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			body, code, msg := d.answer(ctx, subject, data, h)
			if reply == "" {
				return
			}
			m := nats.NewMsg(reply)
			m.Data = body
			if code != "" {
				m.Header.Set(micro.ErrorHeader, msg)
				m.Header.Set(micro.ErrorCodeHeader, string(code))
			}
			if err := d.cfg.NC.PublishMsg(m); err != nil {
				d.log.Warn().Err(err).Str("subject", subject).Msg("webhook reply failed")
			}
		}()
	}
}

// answer runs h on one request and returns the reply body and, for a
// failure, its code and message.
func (d *Dispatcher) answer(ctx context.Context, subject string, data []byte, h func(context.Context, []byte) (any, error)) ([]byte, events.Code, string) {
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var (
		res any
		err error
	)
	if len(data) > MaxRequestBytes {
		err = events.Errorf(events.CodeInvalidArgument, "request larger than %d bytes", MaxRequestBytes)
	} else {
		res, err = h(rctx, data)
	}
	if err == nil {
		var body []byte
		if body, err = json.Marshal(res); err == nil {
			return body, "", ""
		}
	}
	var r errorReply
	r.Error.Code, r.Error.Message = codeOf(err), err.Error()
	if r.Error.Code == events.CodeInternal || r.Error.Code == events.CodeUnavailable {
		d.log.Error().Err(err).Str("subject", subject).Msg("webhook request failed")
	}
	body, _ := json.Marshal(r)
	return body, r.Error.Code, r.Error.Message
}

func codeOf(err error) events.Code {
	switch {
	case errors.Is(err, endpoint.ErrNotFound):
		return events.CodeNotFound
	case errors.Is(err, endpoint.ErrExists):
		return events.CodeAlreadyExists
	case errors.Is(err, endpoint.ErrContention):
		return events.CodeConflict
	case errors.Is(err, context.DeadlineExceeded):
		return events.CodeUnavailable
	}
	// A transport failure (no responders, timeout, connection closed,
	// JetStream or a stream leader unavailable) is retryable: never
	// "internal".
	if c := events.CodeOf(err); c != events.CodeInternal || !natsx.Unavailable(err) {
		return c
	}
	return events.CodeUnavailable
}

// decodeStrict parses a request with events/wire, the decoder every
// subject shares.
func decodeStrict(data []byte, v any) error { return wire.Decode(data, v) }

func invalid(err error) error {
	return events.Errorf(events.CodeInvalidArgument, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
}

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

// parseCreate decodes a create request and checks its fields as the JSON
// Schema states them; endpoint.Validate then checks the endpoint as a
// whole (URL shape, event type names, durations, limits).
func parseCreate(data []byte) (CreateRequest, error) {
	var r CreateRequest
	if err := decodeStrict(data, &r); err != nil {
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

// firstErr returns the first failure: a reply names one field.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) handleCreate(ctx context.Context, data []byte) (any, error) {
	r, err := parseCreate(data)
	if err != nil {
		return nil, err
	}
	now := d.cfg.Now().UTC()
	if r.ID == "" {
		r.ID = "ep_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	format := r.Format
	if format == "" {
		format = endpoint.FormatStandard
	}
	if len(r.EventTypes) == 0 {
		r.EventTypes = []string{"*"}
	}
	secret := r.Secret
	if secret == "" {
		s, err := delivery.GenerateSecret()
		if err != nil {
			return nil, err
		}
		secret = s
	}
	timeout := endpoint.Duration(endpoint.DefaultTimeout)
	if r.Timeout != nil {
		timeout = *r.Timeout
	}
	ep := endpoint.Endpoint{
		ID: r.ID, URL: r.URL, Description: r.Description, EventTypes: r.EventTypes, GroupIDs: r.GroupIDs,
		Format: format, Secrets: []endpoint.Secret{{Value: secret, CreatedAt: now}}, Timeout: timeout,
		RateLimit: r.RateLimit, RetrySchedule: r.RetrySchedule, Ordered: r.Ordered, State: endpoint.StateActive,
		CreatedAt: now, UpdatedAt: now, CreatedBy: r.Actor,
	}
	if r.Paused {
		ep.State, ep.PausedAt, ep.PausedBy, ep.PausedReason = endpoint.StatePaused, &now, r.Actor, "created paused"
	}
	if err := ep.Validate(); err != nil {
		return nil, invalid(err)
	}
	// The endpoint receives events stored from now on.
	info, err := d.events.Info(ctx)
	if err != nil {
		return nil, events.Errorf(events.CodeUnavailable, "read %s: %v", events.StreamName, err)
	}
	ep.StartSeq = info.State.LastSeq
	rev, err := d.store.Create(ctx, ep)
	if err != nil {
		return nil, err
	}
	d.recordChange(ep, "created", r.Actor, false, "", d.cfg.Now())
	// Read-your-writes: once create replies, this dispatcher's fan-out
	// sees the endpoint.
	_ = d.cache.WaitRevision(ctx, rev)
	return EndpointReply{Endpoint: ep.Redacted(), Secret: secret}, nil
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

// parseUpdate decodes an update request and checks its fields.
func parseUpdate(data []byte) (UpdateRequest, error) {
	var r UpdateRequest
	if err := decodeStrict(data, &r); err != nil {
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

func (d *Dispatcher) handleUpdate(ctx context.Context, data []byte) (any, error) {
	r, err := parseUpdate(data)
	if err != nil {
		return nil, err
	}
	now := d.cfg.Now().UTC()
	ep, rev, changed, err := d.store.Update(ctx, r.ID, func(e *endpoint.Endpoint) error {
		set(&e.URL, r.URL)
		set(&e.Description, r.Description)
		set(&e.EventTypes, r.EventTypes)
		set(&e.GroupIDs, r.GroupIDs)
		set(&e.Format, r.Format)
		set(&e.Timeout, r.Timeout)
		set(&e.RateLimit, r.RateLimit)
		set(&e.RetrySchedule, r.RetrySchedule)
		set(&e.Ordered, r.Ordered)
		e.UpdatedAt = now
		if err := e.Validate(); err != nil {
			return invalid(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		d.recordChange(ep, "updated", r.Actor, false, "", d.cfg.Now())
		_ = d.cache.WaitRevision(ctx, rev)
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
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

func (d *Dispatcher) idRequest(data []byte, needActor bool) (IDRequest, error) {
	return parseID(data, needActor)
}

// parseID decodes a request naming one endpoint; get takes no actor.
func parseID(data []byte, needActor bool) (IDRequest, error) {
	var r IDRequest
	if err := decodeStrict(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("id", r.ID)}
	if needActor || r.Actor != "" {
		errs = append(errs, events.ValidateID("actor", r.Actor))
	}
	errs = append(errs, wire.Text("reason", r.Reason, MaxReasonLen))
	return r, firstErr(errs...)
}

func (d *Dispatcher) handleGet(ctx context.Context, data []byte) (any, error) {
	r, err := d.idRequest(data, false)
	if err != nil {
		return nil, err
	}
	ep, _, err := d.store.Get(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

// ListReply is roster.webhook.endpoint.list's reply.
type ListReply struct {
	Endpoints []endpoint.Endpoint `json:"endpoints"`
}

// parseList accepts an empty body or an empty object.
func parseList(data []byte) error {
	var r struct{}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return decodeStrict(data, &r)
}

func (d *Dispatcher) handleList(ctx context.Context, data []byte) (any, error) {
	if err := parseList(data); err != nil {
		return nil, err
	}
	eps, err := d.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := ListReply{Endpoints: make([]endpoint.Endpoint, 0, len(eps))}
	for _, ep := range eps {
		out.Endpoints = append(out.Endpoints, ep.Redacted())
	}
	return out, nil
}

func (d *Dispatcher) handleDelete(ctx context.Context, data []byte) (any, error) {
	r, err := d.idRequest(data, true)
	if err != nil {
		return nil, err
	}
	ep, err := d.store.Delete(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	d.recordChange(ep, "deleted", r.Actor, false, r.Reason, d.cfg.Now())
	_ = d.cache.WaitFor(ctx, func(_ uint64, get func(string) (endpoint.Endpoint, bool)) bool {
		_, ok := get(r.ID)
		return !ok
	})
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

func (d *Dispatcher) handlePause(ctx context.Context, data []byte) (any, error) {
	r, err := d.idRequest(data, true)
	if err != nil {
		return nil, err
	}
	ep, _, err := d.setPaused(ctx, r.ID, true, r.Actor, false, r.Reason)
	if err != nil {
		return nil, err
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
}

func (d *Dispatcher) handleResume(ctx context.Context, data []byte) (any, error) {
	r, err := d.idRequest(data, true)
	if err != nil {
		return nil, err
	}
	ep, _, err := d.setPaused(ctx, r.ID, false, r.Actor, false, r.Reason)
	if err != nil {
		return nil, err
	}
	return EndpointReply{Endpoint: ep.Redacted()}, nil
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

// parseRotate decodes a rotate_secret request and checks its ids.
func parseRotate(data []byte) (RotateRequest, error) {
	var r RotateRequest
	if err := decodeStrict(data, &r); err != nil {
		return r, err
	}
	return r, firstErr(events.ValidateID("actor", r.Actor), events.ValidateID("id", r.ID), wire.Name("secret", r.Secret, wire.MaxTokenLen))
}

func (d *Dispatcher) handleRotate(ctx context.Context, data []byte) (any, error) {
	r, err := parseRotate(data)
	if err != nil {
		return nil, err
	}
	var errs []error
	grace := DefaultRotationGrace
	if r.Grace != nil {
		grace = time.Duration(*r.Grace)
		if grace < 0 || grace > 30*24*time.Hour {
			errs = append(errs, errors.New("grace: must be in [0s, 720h]"))
		}
	}
	if r.Secret == "" {
		s, err := delivery.GenerateSecret()
		if err != nil {
			return nil, err
		}
		r.Secret = s
	} else if _, err := delivery.ParseSecret(r.Secret); err != nil {
		errs = append(errs, fmt.Errorf("secret: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, invalid(err)
	}
	now := d.cfg.Now().UTC()
	ep, rev, _, err := d.store.Update(ctx, r.ID, func(e *endpoint.Endpoint) error {
		expires := now.Add(grace)
		kept := []endpoint.Secret{{Value: r.Secret, CreatedAt: now}}
		for _, s := range e.Secrets {
			if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
				continue // already retired
			}
			if s.ExpiresAt == nil || s.ExpiresAt.After(expires) {
				s.ExpiresAt = &expires
			}
			if grace > 0 {
				kept = append(kept, s)
			}
		}
		e.Secrets, e.UpdatedAt = kept, now
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.recordChange(ep, "secret_rotated", r.Actor, false, "", d.cfg.Now())
	_ = d.cache.WaitRevision(ctx, rev)
	return EndpointReply{Endpoint: ep.Redacted(), Secret: r.Secret}, nil
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

func (d *Dispatcher) handleTest(ctx context.Context, data []byte) (any, error) {
	r, err := d.idRequest(data, true)
	if err != nil {
		return nil, err
	}
	ep, _, err := d.store.Get(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	ev := events.Event{
		ID: uuid.NewString(), Type: "webhook.test", SchemaVersion: 1, OccurredAt: d.cfg.Now().UTC(),
		Actor: r.Actor, Data: json.RawMessage(`{"message":"Roster webhook test"}`),
	}
	o := d.send(ctx, ep, ev)
	state := StateExhausted
	if o.verdict.Success {
		state = StateSucceeded
	}
	// Test attempts are recorded but do not count toward endpoint health.
	if err := d.record(ctx, ep, ev, attemptRecord{id: uuid.NewString(), attempt: 1, trigger: TriggerTest, state: state}, o); err != nil {
		d.log.Warn().Err(err).Str("endpoint_id", ep.ID).Msg("recording test attempt")
	}
	body := o.resp.Body
	if len(body) > 1024 {
		body = body[:1024]
	}
	return TestReply{
		Success: o.verdict.Success, Status: o.resp.Status, FailureClass: string(o.verdict.Class),
		FailureMsg: o.verdict.Message, LatencyMS: o.resp.Latency.Milliseconds(),
		WebhookID: delivery.MessageID(ep.ID, ev.ID), ResponseBody: string(body),
	}, nil
}
