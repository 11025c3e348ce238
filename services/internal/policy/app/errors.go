package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// storeErr gives a hook store failure its wire code, keeping the store's
// text as the message and the failure as the cause. Anything else is
// returned as it is: the edge maps a transport failure to "unavailable"
// and the rest to "internal".
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var code events.Code
	switch {
	case errors.Is(err, hookrec.ErrNotFound):
		code = events.CodeNotFound
	case errors.Is(err, hookrec.ErrExists):
		code = events.CodeAlreadyExists
	case errors.Is(err, hookrec.ErrContention):
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
