package app

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// FanOut turns one commit into one job per (event, matching endpoint),
// in commit order (an openim endpoint's kicks of one commit are one job:
// units). refanned says the commit was handed out before, so its
// jobs may exist already (ADR 0013). The queue deduplicates the jobs by
// MsgID (endpoint:event), so a commit fanned out twice inside the
// duplicate window enqueues nothing new; the caller acknowledges the
// commit only once every job is stored.
func (a *App) FanOut(c Commit, refanned bool) ([]OutJob, error) {
	eps := a.cfg.View.All()
	now := a.now().UTC()
	var out []OutJob
	// Jobs go out event by event (commit order), each event's jobs in
	// endpoint order.
	perEP := make([][]unit, len(eps))
	for i, ep := range eps {
		if c.Seq > ep.StartSeq {
			perEP[i] = units(ep, c.Events)
		}
	}
	next := make([]int, len(eps)) // each endpoint's first unit not yet out
	for k := range c.Events {
		for i, ep := range eps {
			for ; next[i] < len(perEP[i]) && perEP[i][next[i]].at == k; next[i]++ {
				u := perEP[i][next[i]]
				j := Job{EndpointID: ep.ID, Event: u.event, Batch: u.batch, StreamSeq: c.Seq, Trigger: TriggerScheduled, EnqueuedAt: now, Refanned: refanned}
				o, err := j.out(ep.Ordered)
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// unit is one request's worth of a commit for one endpoint: an event,
// the events batched with it, and the event's index in the commit.
type unit struct {
	event events.Event
	batch []events.Event
	at    int
}

// units splits the events of one commit that ep wants into requests,
// in commit order: one per event, except that an openim endpoint gets
// all of a commit's member.removed events in one request at the place of
// the first (OpenIM's one afterKickGroup per kick, ADR 0086). The batch
// depends only on the commit and the endpoint, so a re-fanned commit or a
// redelivery makes the same job under the same MsgID.
func units(ep endpoint.Endpoint, evs []events.Event) []unit {
	var out []unit
	batchAt := map[events.Type]int{}
	for k, ev := range evs {
		if !ep.Wants(ev) {
			continue
		}
		if ep.Format == endpoint.FormatOpenIM && delivery.OpenIMBatched(ev.Type) {
			if i, ok := batchAt[ev.Type]; ok {
				out[i].batch = append(out[i].batch, ev)
				continue
			}
			batchAt[ev.Type] = len(out)
		}
		out = append(out, unit{event: ev, at: k})
	}
	return out
}

// JobsEnqueued counts jobs the fan-out stored.
func (a *App) JobsEnqueued(n int) { a.cfg.Metrics.Enqueued.Add(float64(n)) }
