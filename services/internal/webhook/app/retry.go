package app

import (
	"time"

	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// nextState is what an attempt leaves behind: succeeded; retrying, with
// the delay before the next attempt (the endpoint's schedule or the
// default one, with jitter, stretched to the receiver's Retry-After: see
// delivery.Policy.Next); or exhausted once the schedule is used up (the
// event is sent again only by redeliver). Deliver hands a retrying job
// back to its queue with that delay.
func (a *App) nextState(ep endpoint.Endpoint, st JobState, attempt int, o outcome) (JobState, time.Duration) {
	now := a.now()
	next := JobState{Generation: st.Generation, Attempts: attempt, LastClass: string(o.verdict.Class), UpdatedAt: now.UTC()}
	if o.verdict.Success {
		next.State = StateSucceeded
		return next, 0
	}
	ra := delivery.RetryAfter(o.resp.Status, o.resp.Headers, now)
	delay, again := ep.Policy(a.cfg.Retry).Next(attempt, ra, a.cfg.Rand)
	if !again {
		next.State = StateExhausted
		return next, 0
	}
	at := now.Add(delay).UTC()
	next.State, next.NextAttemptAt = StateRetrying, &at
	return next, delay
}
