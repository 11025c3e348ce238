package events

import (
	"errors"
	"fmt"
)

// Code is a stable, documented error code. Codes are the wire contract of a
// failure reply: {"error":{"code":...,"message":...}}.
type Code string

// The error code set (docs/commands.md documents when each is returned).
const (
	CodeInvalidArgument    Code = "invalid_argument"
	CodeNotFound           Code = "not_found"
	CodeAlreadyExists      Code = "already_exists"
	CodeForbidden          Code = "forbidden"
	CodeFailedPrecondition Code = "failed_precondition"
	CodeConflict           Code = "conflict"
	CodeUnavailable        Code = "unavailable"
	CodeInternal           Code = "internal"
	CodeTimeout            Code = "timeout"
	// CodePolicyDenied: a policy hook vetoed the command (issue 12).
	CodePolicyDenied Code = "policy_denied"
	// CodePolicyUnavailable: a policy hook failed (timeout, connect error,
	// bad status, a body that is not one JSON object, breaker open) and its
	// on_failure is deny.
	CodePolicyUnavailable Code = "policy_unavailable"
)

// Error is a typed error carrying a Code. Domain decisions return it; the
// transport maps it to a reply at the edge, where callers read Code and
// Message only. Cause, when set, is the underlying failure: it is in
// Error() (so logs show it) and reachable with errors.Is and errors.As,
// but never sent to a caller.
type Error struct {
	Code    Code
	Message string
	Cause   error
	// Details, when set, is sent to the caller as the reply's
	// error.details: a flat map of what the caller may read (a policy
	// hook's err_code, err_msg, err_dlt, its hook_id). Never internals.
	Details map[string]any
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Cause.Error()
	}
	return string(e.Code) + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error with a formatted message and cause as its Cause.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// CodeOf returns the Code of err, or CodeInternal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrForbidden          = &Error{Code: CodeForbidden}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrConflict           = &Error{Code: CodeConflict}
)
