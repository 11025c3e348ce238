package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// The command side's part of the audit trail (docs/adr/0025):
//
//   - an accepted command is recorded by its commit: the details of the
//     reception travel as headers on the commit message and the audit sink
//     writes the commands row from ROSTER_EVENTS, so the row is exactly as
//     durable as the events and never claims anything the stream does not
//     hold;
//   - every other outcome is stored in ROSTER_AUDIT before the caller is
//     answered; if it cannot be, the caller gets unavailable instead (the
//     command changed nothing it was not told about);
//   - an error reply after an append that may have stored the commit is
//     recorded as uncertain, never as rejected.

// reception is one command as received, and what the trail must know
// about it.
type reception struct {
	clock clockwork.Clock
	start time.Time // for latency
	rec   audit.Command
	// maybeStored is set once an append was sent that was not a definite
	// conflict: the commit may be (or is) in ROSTER_EVENTS.
	maybeStored bool
}

// commitHeaders carries the reception onto the commit message, for the
// accepted row the sink writes from it.
func (rc *reception) commitHeaders() []eventstore.AppendOption {
	return []eventstore.AppendOption{eventstore.WithReception(eventstore.Reception{
		ReceivedAt: rc.rec.ReceivedAt, PayloadSHA256: rc.rec.PayloadHash, PayloadSize: rc.rec.PayloadSize,
		LatencyUS: rc.clock.Since(rc.start).Microseconds(),
	})}
}

// settle records res in the trail and returns what the caller is told.
func (a *App) settle(ctx context.Context, name string, rc *reception, res Result) Result {
	rec := rc.rec
	switch {
	case res.Err == nil && !res.Duplicate:
		a.metrics.observe(name, audit.OutcomeAccepted, "", rc.clock.Since(rc.start))
		return res // the sink writes the row from the commit
	case res.Err == nil:
		rec.Outcome, rec.Version, rec.CommandID = audit.OutcomeDuplicate, res.Reply.Version, res.Reply.CommandID
	default:
		rec.Outcome = audit.OutcomeRejected
		if rc.maybeStored {
			rec.Outcome = audit.OutcomeUncertain
		}
		rec.ErrorCode = string(codeOf(res.Err))
		rec.ErrorMsg = trailMessage(res.Err)
	}
	rec.LatencyUS = rc.clock.Since(rc.start).Microseconds()
	if err := a.storeRecord(ctx, rec); err != nil {
		a.log.Warn().Err(err).Str("command", name).Str("outcome", rec.Outcome).Msg("audit record not stored; answering unavailable")
		if rec.Outcome != audit.OutcomeUncertain {
			// Rejected or duplicate: nothing changed now, so the caller
			// may retry; unanswered is better than unaudited.
			res = Result{Err: events.Wrap(events.CodeUnavailable, err, "audit trail unavailable, the command changed nothing; retry: %v", err)}
		}
		// An uncertain outcome is already an error reply; it stays what it
		// was, and if the commit was stored its accepted row still comes.
		a.metrics.observe(name, rec.Outcome, string(codeOf(res.Err)), rc.clock.Since(rc.start))
		return res
	}
	a.metrics.observe(name, rec.Outcome, rec.ErrorCode, rc.clock.Since(rc.start))
	return res
}

// trailMessage is the error text the trail keeps: what the caller read,
// except that an internal error keeps its detail (the caller reads only
// "internal error"; the trail is where an operator looks).
func trailMessage(err error) string {
	var de *events.Error
	switch {
	case !errors.As(err, &de):
		return err.Error()
	case de.Code == events.CodeInternal && de.Cause != nil:
		return de.Message + ": " + de.Cause.Error()
	}
	return de.Message
}

// storeRecord stores rec in ROSTER_AUDIT, retrying for up to AuditTimeout
// (audit.StoreDurably). The wait starts now and is bounded by AuditTimeout
// alone: it outlives the request's context on purpose, since an uncertain
// outcome is usually that context expiring mid-append.
func (a *App) storeRecord(ctx context.Context, rec audit.Command) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.auditTimeout)
	defer cancel()
	if err := audit.StoreDurably(ctx, a.audit, rec); err != nil {
		return fmt.Errorf("store %s record %s: %w", rec.Outcome, rec.ID, err)
	}
	return nil
}

// codeOf is the wire code the caller reads for err. Every failure of a
// dependency leaves the app typed (unavailable, see Repository.Update), so
// the edge's mapping (edge.Code) and events.CodeOf agree on it.
func codeOf(err error) events.Code { return events.CodeOf(err) }
