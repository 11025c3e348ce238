// Package decision is the pure half of calling a synchronous policy hook
// (issue 12, docs/policy.md): for one hook and one command it builds the
// request the hook gets (OpenIM 3.8's before-callback, or Roster's
// Standard Webhooks policy.check), judges the answer strictly, and turns an
// allowing answer's overrides into the command the domain then decides. It
// does no I/O: the HTTP call, the breaker, the cache and the trail are the
// policy app's (policy/app, check.go).
package decision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/policy/hook"
)

// Input is what a hook decides on: one decoded command and the group's
// state as it was when the hooks were called (a read-only copy).
type Input struct {
	GroupID   string
	Actor     string
	CommandID string
	Command   group.Command
	// Group is the group's state; for group.create a group that does not
	// exist yet. Never modified. Its Members may hold the actor only and
	// its Pending nothing (a caller need not copy a 100,000-member group
	// to ask a hook): the counts are MemberCount and PendingCount.
	Group *group.State
	// MemberCount and PendingCount are the group's members and pending
	// join requests.
	MemberCount, PendingCount int
}

// Outcome is what one hook decision came to: the outcome column of
// roster.policy_decisions and the outcome label of
// roster_policy_decisions_total (a public contract).
type Outcome string

const (
	// Allowed: the hook allowed the command unchanged.
	Allowed Outcome = "allowed"
	// Denied: the hook vetoed the command (policy_denied).
	Denied Outcome = "denied"
	// Overridden: the hook allowed the command and changed its input.
	Overridden Outcome = "overridden"
	// Failed: the call failed (Class says how); on_failure applied.
	Failed Outcome = "failed"
	// Skipped: the hook's breaker was open; nothing was sent and
	// on_failure applied at once.
	Skipped Outcome = "skipped"
)

// Class is how a call failed (roster.policy_decisions.failure_class).
type Class string

const (
	ClassNone Class = ""
	// ClassTimeout: no complete answer within the hook's timeout.
	ClassTimeout Class = "timeout"
	// ClassConnect: the connection failed (refused, reset, DNS, TLS).
	ClassConnect Class = "connect"
	// ClassStatus: the hook answered a status that is not 2xx.
	ClassStatus Class = "status"
	// ClassInvalidResponse: the body is not exactly one JSON object of the
	// format's answer (the seed's `{"actionCode":0}Callback ok`).
	ClassInvalidResponse Class = "invalid_response"
	// ClassTooLarge: the answer is longer than the cap.
	ClassTooLarge Class = "too_large"
	// ClassBlockedAddress: the SSRF guard refused every address of the URL.
	ClassBlockedAddress Class = "blocked_address"
)

// Classes lists the failure classes in a stable order (docs, tests).
var Classes = []Class{ClassTimeout, ClassConnect, ClassStatus, ClassInvalidResponse, ClassTooLarge, ClassBlockedAddress}

// describe is the caller-facing sentence of a class: what a caller reads
// in policy_unavailable, never a parser's or a transport's text.
func (c Class) describe() string {
	switch c {
	case ClassTimeout:
		return "did not answer in time"
	case ClassConnect:
		return "could not be reached"
	case ClassStatus:
		return "answered with an HTTP status that is not 2xx"
	case ClassInvalidResponse:
		return "answered with a body that is not exactly one JSON object of its format"
	case ClassTooLarge:
		return "answered with a body larger than Roster reads"
	case ClassBlockedAddress:
		return "has a URL whose address the SSRF guard refuses"
	}
	return "failed"
}

// Verdict is one hook's decision on one command.
type Verdict struct {
	Outcome Outcome
	// Class is set when Outcome is Failed.
	Class Class
	// Message: why the call failed (for the trail, may quote the body's
	// start), or on a veto the hook's own message.
	Message string
	// Code: on a veto the hook's code (openim errCode, standard code).
	Code string
	// Details go to the caller on a veto (error.details).
	Details map[string]any
	// Command is what the domain decides next: the input's command, or
	// the changed one when Outcome is Overridden.
	Command group.Command
	// Override is the applied override as JSON (empty when none).
	Override json.RawMessage
	// Refused is set when an allowing answer asked for what no Roster
	// command can carry (a roleLevel that is no role, another group id):
	// the command is rejected with it, like any domain refusal.
	Refused error
}

// Fail is the verdict of a failed call.
func Fail(in Input, class Class, message string) Verdict {
	return Verdict{Outcome: Failed, Class: class, Message: message, Command: in.Command}
}

// Skip is the verdict of a call the breaker did not let through.
func Skip(in Input) Verdict {
	return Verdict{Outcome: Skipped, Message: "breaker open: the hook failed repeatedly and is not called during its cool-down", Command: in.Command}
}

// Err is the command's rejection a verdict makes under h's on_failure, or
// nil when the command proceeds (with v.Command).
func (v Verdict) Err(h hook.Hook) error {
	if v.Refused != nil {
		return v.Refused
	}
	switch v.Outcome {
	case Denied:
		msg := v.Message
		if msg == "" {
			msg = "no reason given"
		}
		e := events.Errorf(events.CodePolicyDenied, "policy hook %q denied %s: %s", h.ID, h.Command, msg)
		e.Details = v.Details
		return e
	case Failed, Skipped:
		if h.OnFailure == hook.Allow {
			return nil
		}
		what := v.Class.describe()
		class := string(v.Class)
		if v.Outcome == Skipped {
			what, class = "failed repeatedly and its breaker is open", "breaker_open"
		}
		e := events.Errorf(events.CodePolicyUnavailable, "policy hook %q %s and its on_failure is deny; %s was not decided", h.ID, what, h.Command)
		e.Details = map[string]any{"hook_id": h.ID, "failure_class": class}
		return e
	}
	return nil
}

// RequestID is the stable id of one hook request: the same command id,
// hook and decision input give the same id (an optimistic-concurrency
// retry of an unchanged input), anything else another. It is the openim
// operationID and the standard webhook-id, and keys the outcome cache.
// body is the request built with an empty id.
func RequestID(commandID, hookID string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(commandID))
	h.Write([]byte{0})
	h.Write([]byte(hookID))
	h.Write([]byte{0})
	h.Write(body)
	return "pol_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Request is one call to a hook.
type Request struct {
	// URL: openim {url}/{callbackCommand}, standard the hook's URL.
	URL string
	// ID is RequestID of the call.
	ID   string
	Body []byte
}

// Build returns the request h gets for in.
func Build(h hook.Hook, in Input) (Request, error) {
	bare, err := body(h, in, "")
	if err != nil {
		return Request{}, err
	}
	id := RequestID(in.CommandID, h.ID, bare)
	b, err := body(h, in, id)
	if err != nil {
		return Request{}, err
	}
	url := h.URL
	if h.Format == hook.FormatOpenIM {
		url = strings.TrimRight(h.URL, "/") + "/" + h.OpenIMCommand()
	}
	return Request{URL: url, ID: id, Body: b}, nil
}

func body(h hook.Hook, in Input, id string) ([]byte, error) {
	switch h.Format {
	case hook.FormatOpenIM:
		return openIMBody(h.OpenIMCommand(), in, id)
	case hook.FormatStandard:
		return standardBody(in)
	}
	return nil, fmt.Errorf("hook %q: unknown format %q", h.ID, h.Format)
}

// Judge decides what a complete 2xx answer of h to in means.
func Judge(h hook.Hook, in Input, answer []byte) Verdict {
	if h.Format == hook.FormatOpenIM {
		return judgeOpenIM(h, in, answer)
	}
	return judgeStandard(h, in, answer)
}

// oneObject checks that b is exactly one JSON object, whitespace around
// it allowed: the rule that makes `{"actionCode":0}Callback ok`,
// `200 Content`, HTML or an empty body invalid.
func oneObject(b []byte) ([]byte, error) {
	t := strings.TrimSpace(string(b))
	if t == "" {
		return nil, fmt.Errorf("empty body")
	}
	if t[0] != '{' {
		return nil, fmt.Errorf("body starts with %s, not a JSON object", quoteStart(t))
	}
	dec := json.NewDecoder(strings.NewReader(t))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("body is not one JSON object: %v", err)
	}
	if rest := strings.TrimSpace(t[dec.InputOffset():]); rest != "" {
		return nil, fmt.Errorf("%d bytes after the JSON object (%s)", len(rest), quoteStart(rest))
	}
	return raw, nil
}

func quoteStart(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return fmt.Sprintf("%q", s)
}

// refuse is the verdict of an allowing answer whose override no Roster
// command can carry.
func refuse(in Input, h hook.Hook, override any, format string, args ...any) Verdict {
	b, _ := json.Marshal(override)
	return Verdict{Outcome: Overridden, Command: in.Command, Override: b,
		Refused: events.Errorf(events.CodeInvalidArgument, "policy hook %q: %s", h.ID, fmt.Sprintf(format, args...))}
}

// invalid is the verdict of an answer that is not the format's.
func invalid(in Input, format string, args ...any) Verdict {
	return Fail(in, ClassInvalidResponse, fmt.Sprintf(format, args...))
}

// overridden returns the verdict of an allowing answer that changed in's
// command into cmd (applied is what it changed, for the trail); unchanged
// input is Allowed.
func overridden(in Input, cmd group.Command, applied any) Verdict {
	b, err := json.Marshal(applied)
	if err != nil || string(b) == "{}" || string(b) == "null" {
		return Verdict{Outcome: Allowed, Command: in.Command}
	}
	return Verdict{Outcome: Overridden, Command: cmd, Override: b}
}
