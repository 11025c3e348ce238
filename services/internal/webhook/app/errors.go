package app

import (
	"context"
	"errors"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// ErrStateConflict: a job state changed after it was read.
var ErrStateConflict = errors.New("job state changed concurrently")

// storeErr gives an endpoint store failure its wire code, keeping the
// store's text as the message and the failure as the cause. Anything else
// is returned as it is: the edge maps a transport failure to
// "unavailable" and the rest to "internal".
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var code events.Code
	switch {
	case errors.Is(err, endpoint.ErrNotFound):
		code = events.CodeNotFound
	case errors.Is(err, endpoint.ErrExists):
		code = events.CodeAlreadyExists
	case errors.Is(err, endpoint.ErrContention):
		code = events.CodeConflict
	case errors.Is(err, context.DeadlineExceeded):
		code = events.CodeUnavailable
	default:
		return err
	}
	return events.Wrap(code, err, "%s", err.Error())
}

// invalid turns a validation failure (possibly several, joined) into one
// invalid_argument error.
func invalid(err error) error {
	return events.Wrap(events.CodeInvalidArgument, err, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
}

// unavailable marks a failure to read ROSTER_EVENTS as retryable.
func unavailable(err error) error {
	return events.Wrap(events.CodeUnavailable, err, "read %s: %v", events.StreamName, err)
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
