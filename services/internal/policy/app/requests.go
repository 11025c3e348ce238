package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// The requests and replies of roster-policy's hook administration (their
// JSON shapes are the public contract, schemas/json/policy/*.json). Each
// Parse function decodes a body with events/wire, the one strict decoder,
// and checks its fields as the subject's JSON Schema states them, before
// any use case runs; hook.Validate then checks the hook as a whole.

// Limits of the requests.
const (
	// MaxURLLen bounds a hook URL (as a webhook endpoint's).
	MaxURLLen = wire.MaxURLLen
)

// Duration is a time.Duration written as a Go duration string ("5s").
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Hook is a hook as replies and audit records show it: never a secret
// value, only whether the hook has one. Callback is the OpenIM
// callbackCommand an openim hook sends (its default when none was named).
type Hook struct {
	ID        string         `json:"id"`
	Command   string         `json:"command"`
	Callback  string         `json:"callback,omitempty"`
	URL       string         `json:"url"`
	Format    hook.Format    `json:"format"`
	Timeout   Duration       `json:"timeout"`
	OnFailure hook.OnFailure `json:"on_failure"`
	HasSecret bool           `json:"has_secret"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	CreatedBy string         `json:"created_by,omitempty"`
	UpdatedBy string         `json:"updated_by,omitempty"`
}

// Redacted is e as a reply shows it.
func Redacted(e hookrec.Entry) Hook {
	h := e.Hook
	out := Hook{
		ID: h.ID, Command: h.Command, URL: h.URL, Format: h.Format, Timeout: Duration(h.Timeout),
		OnFailure: h.OnFailure, HasSecret: len(h.Secrets) > 0, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
		CreatedBy: e.CreatedBy, UpdatedBy: e.UpdatedBy,
	}
	if h.Format == hook.FormatOpenIM {
		out.Callback = h.OpenIMCommand()
	}
	return out
}

// forAudit is Redacted with the URL's query, fragment and user info
// dropped as well (receivers put tokens in the query): what
// policy_hook_changes rows store.
func forAudit(e hookrec.Entry) Hook {
	out := Redacted(e)
	out.URL = delivery.RedactURL(e.Hook.URL)
	return out
}

// HookReply carries one hook; Secret is set only by create, the one time a
// secret is shown.
type HookReply struct {
	Hook   Hook   `json:"hook"`
	Secret string `json:"secret,omitempty"`
}

// ListReply is roster.policy.hook.list's reply, in call order.
type ListReply struct {
	Hooks []Hook `json:"hooks"`
}

// CreateRequest is roster.policy.hook.create.
type CreateRequest struct {
	Actor string `json:"actor"`
	// ID is optional: the service makes one up ("hk_...").
	ID       string      `json:"id,omitempty"`
	Command  string      `json:"command"`
	URL      string      `json:"url"`
	Format   hook.Format `json:"format"`
	Timeout  *Duration   `json:"timeout,omitempty"` // absent: hook.DefaultTimeout
	Callback string      `json:"callback,omitempty"`
	// OnFailure is required: whether a failed call lets the command
	// through is never a default.
	OnFailure hook.OnFailure `json:"on_failure"`
	// Secret signs a standard hook's calls (absent: generated).
	Secret string `json:"secret,omitempty"`
}

// ParseCreate decodes a create request and checks its fields as the JSON
// Schema states them.
func ParseCreate(data []byte) (CreateRequest, error) {
	var r CreateRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("actor", r.Actor)}
	if r.ID != "" {
		errs = append(errs, events.ValidateID("id", r.ID))
	}
	errs = append(errs, command(r.Command), required("url", r.URL), wire.Name("url", r.URL, MaxURLLen),
		format(r.Format), onFailure(r.OnFailure), wire.Name("callback", r.Callback, wire.MaxTokenLen),
		wire.Name("secret", r.Secret, wire.MaxTokenLen))
	return r, firstErr(errs...)
}

// UpdateRequest is roster.policy.hook.update: only the given fields
// change. A hook's command and format are fixed at creation (a hook for
// another command or protocol is a new hook); an empty callback goes back
// to the command's default.
type UpdateRequest struct {
	Actor     string          `json:"actor"`
	ID        string          `json:"id"`
	URL       *string         `json:"url,omitempty"`
	Timeout   *Duration       `json:"timeout,omitempty"`
	Callback  *string         `json:"callback,omitempty"`
	OnFailure *hook.OnFailure `json:"on_failure,omitempty"`
	// Secret replaces a standard hook's signing secret.
	Secret *string `json:"secret,omitempty"`
}

// ParseUpdate decodes an update request and checks its fields.
func ParseUpdate(data []byte) (UpdateRequest, error) {
	var r UpdateRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("actor", r.Actor), events.ValidateID("id", r.ID)}
	if r.URL != nil {
		errs = append(errs, required("url", *r.URL), wire.Name("url", *r.URL, MaxURLLen))
	}
	if r.Callback != nil {
		errs = append(errs, wire.Name("callback", *r.Callback, wire.MaxTokenLen))
	}
	if r.OnFailure != nil {
		errs = append(errs, onFailure(*r.OnFailure))
	}
	if r.Secret != nil {
		errs = append(errs, required("secret", *r.Secret), wire.Name("secret", *r.Secret, wire.MaxTokenLen))
	}
	return r, firstErr(errs...)
}

// IDRequest names one hook (get, delete).
type IDRequest struct {
	Actor string `json:"actor,omitempty"`
	ID    string `json:"id"`
}

// ParseID decodes a request naming one hook; get takes no actor, delete
// requires one.
func ParseID(data []byte, needActor bool) (IDRequest, error) {
	var r IDRequest
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	errs := []error{events.ValidateID("id", r.ID)}
	if needActor || r.Actor != "" {
		errs = append(errs, events.ValidateID("actor", r.Actor))
	}
	return r, firstErr(errs...)
}

// ListRequest is roster.policy.hook.list: every hook, or those of one
// command. An empty body is an empty request.
type ListRequest struct {
	Command string `json:"command,omitempty"`
}

// ParseList decodes a list request.
func ParseList(data []byte) (ListRequest, error) {
	var r ListRequest
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	if err := wire.Decode(data, &r); err != nil {
		return r, err
	}
	if r.Command != "" {
		return r, command(r.Command)
	}
	return r, nil
}

func required(field, v string) error {
	if v == "" {
		return events.Errorf(events.CodeInvalidArgument, "%s: required", field)
	}
	return nil
}

func command(c string) error {
	if hook.OpenIMCallbacks(c) == nil {
		return events.Errorf(events.CodeInvalidArgument, "command: %q cannot be guarded, want one of %v", c, hook.Commands)
	}
	return nil
}

func format(f hook.Format) error {
	if f != hook.FormatOpenIM && f != hook.FormatStandard {
		return events.Errorf(events.CodeInvalidArgument, "format: %q, want %q or %q", f, hook.FormatOpenIM, hook.FormatStandard)
	}
	return nil
}

func onFailure(o hook.OnFailure) error {
	if o != hook.Allow && o != hook.Deny {
		return events.Errorf(events.CodeInvalidArgument, "on_failure: %q, want %q or %q (required: what a failed call means is never a default)", o, hook.Allow, hook.Deny)
	}
	return nil
}
