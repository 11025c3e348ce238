package app

import (
	"errors"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// ErrStateConflict: a job state changed after it was read.
var ErrStateConflict = errors.New("job state changed concurrently")

// storeErrs are the errors an endpoint store returns (package endpoint's sentinels).
var storeErrs = kvrecord.Errors{NotFound: endpoint.ErrNotFound, Exists: endpoint.ErrExists, Contention: endpoint.ErrContention, NoChange: endpoint.ErrNoChange}

// storeErr gives an endpoint store failure its wire code (kvrecord.Errors.Wire):
// the store's text as the message, the failure as the cause; anything
// else as it is.
func storeErr(err error) error { return storeErrs.Wire(err) }

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
