package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/kvrecord"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// storeErrs are the errors a hook store returns (package hookrec's sentinels).
var storeErrs = kvrecord.Errors{NotFound: hookrec.ErrNotFound, Exists: hookrec.ErrExists, Contention: hookrec.ErrContention, NoChange: hookrec.ErrNoChange}

// storeErr gives a hook store failure its wire code (kvrecord.Errors.Wire):
// the store's text as the message, the failure as the cause; anything
// else as it is.
func storeErr(err error) error { return storeErrs.Wire(err) }

// invalid turns a validation failure (possibly several, joined) into one
// invalid_argument error.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	if events.CodeOf(err) == events.CodeInvalidArgument {
		return err
	}
	return events.Wrap(events.CodeInvalidArgument, err, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
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

// validate checks a hook as a whole: the domain's rules (hook.Validate),
// a subject-safe id, and the secret rule: a standard hook signs with
// exactly one whsec_ secret, an openim hook (OpenIM does not sign its
// callbacks) has none.
func validate(h hook.Hook) error {
	errs := []error{h.Validate()}
	if h.ID != "" {
		if err := events.ValidateID("id", h.ID); err != nil {
			errs = append(errs, err)
		}
	}
	switch h.Format {
	case hook.FormatStandard:
		if len(h.Secrets) != 1 {
			errs = append(errs, errors.New("secret: a standard hook signs with one secret"))
		} else if _, err := delivery.ParseSecret(h.Secrets[0]); err != nil {
			errs = append(errs, fmt.Errorf("secret: %w", err))
		}
	case hook.FormatOpenIM:
		if len(h.Secrets) > 0 {
			errs = append(errs, errors.New("secret: an openim hook is not signed (OpenIM's before-callbacks carry no signature); give no secret"))
		}
	}
	return invalid(errors.Join(errs...))
}
