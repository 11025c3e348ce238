package app

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
)

// App is the console's use cases on their sources. Its methods are safe
// for concurrent use (it holds no state of its own).
type App struct {
	Webhooks   Webhooks
	Membership Membership
	Status     Status
	Trail      Trail
	Events     EventLog
	// Policy is roster-policy; nil shows the policy page empty.
	Policy Policy
	Clock  clockwork.Clock
	// Services are the micro services the overview pings.
	Services []string
}

// Validate reports every missing source.
func (a *App) Validate() error {
	var errs []error
	if a.Webhooks == nil || a.Membership == nil || a.Status == nil || a.Trail == nil || a.Events == nil {
		errs = append(errs, errors.New("console app: Webhooks, Membership, Status, Trail and Events are required"))
	}
	if a.Clock == nil {
		errs = append(errs, errors.New("console app: Clock is required"))
	}
	return errors.Join(errs...)
}

// Window is how far back the overview's and the endpoint page's figures
// look.
const Window = time.Hour

// TrailCap is the most rows one figure is computed from (the audit
// queries' own maximum): a page says when a figure hit it.
const TrailCap = 10000

// PageSize is the rows per page of the console's tables.
const PageSize = 50

// Page cuts rows to page p (1-based) of PageSize rows; it returns the page
// and whether a next one exists.
func Page[T any](rows []T, p int) ([]T, bool) {
	if p < 1 {
		p = 1
	}
	start := (p - 1) * PageSize
	if start >= len(rows) {
		return nil, false
	}
	end := min(start+PageSize, len(rows))
	return rows[start:end], end < len(rows)
}
