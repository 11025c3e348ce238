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

// MaxJobUnits bounds a batched job's units: a dispatcher that dies in
// the middle of a job sends its successful units again (at least once),
// so the bound is also that window's size. 32 units cut the job path's
// JetStream work per delivery 32-fold while a crash repeats at most
// 2 x 32 requests per unordered endpoint (maxBatchesInProgress).
const MaxJobUnits = 32

// maxJobBytes bounds a batched job's body well below JetStream's default
// 1 MiB message limit; a larger batch is cut before the unit that would
// pass it.
const maxJobBytes = 256 << 10

// FanOutBatch turns the commits of one fan-out batch into jobs batched
// per endpoint and group (ADR 0104): each endpoint gets one job per group
// holding that group's units of the batch in stream order (at most
// MaxJobUnits), where FanOut would make one job per unit. refanned[i]
// says commits[i] was handed out before. Jobs come out in the order of
// their first unit, so a group's jobs for an endpoint are in stream order.
// A job of one unit is exactly the job FanOut makes for it.
func (a *App) FanOutBatch(commits []Commit, refanned []bool) ([]OutJob, error) {
	eps := a.cfg.View.All()
	now := a.now().UTC()
	type key struct {
		ep    int
		group string
	}
	var (
		jobs  []*Job
		sizes []int
	)
	open := map[key]int{} // the job still taking units, by endpoint and group
	for ci, c := range commits {
		for i, ep := range eps {
			if c.Seq <= ep.StartSeq {
				continue
			}
			for _, u := range units(ep, c.Events) {
				un := Unit{Event: u.event, Batch: u.batch, StreamSeq: c.Seq}
				size := approxUnitSize(un)
				kk := key{i, u.event.GroupID}
				if at, ok := open[kk]; ok && len(jobs[at].More)+1 < MaxJobUnits && sizes[at]+size <= maxJobBytes {
					jobs[at].More = append(jobs[at].More, un)
					jobs[at].Refanned = jobs[at].Refanned || refanned[ci]
					sizes[at] += size
					continue
				}
				open[kk] = len(jobs)
				jobs = append(jobs, &Job{EndpointID: ep.ID, Event: un.Event, Batch: un.Batch, StreamSeq: c.Seq, Trigger: TriggerScheduled, EnqueuedAt: now, Refanned: refanned[ci]})
				sizes = append(sizes, size)
			}
		}
	}
	out := make([]OutJob, 0, len(jobs))
	for _, j := range jobs {
		ep, _ := a.cfg.View.Get(j.EndpointID)
		os, err := j.outSplit(ep.Ordered)
		if err != nil {
			return nil, err
		}
		out = append(out, os...)
	}
	return out, nil
}

// outSplit encodes j, halving a batched job whose body came out larger
// than the estimate allowed for (JSON escaping can grow a string
// sixfold), in unit order.
func (j Job) outSplit(ordered bool) ([]OutJob, error) {
	o, err := j.out(ordered)
	if err != nil || len(o.Body) <= 3*maxJobBytes || len(j.More) == 0 {
		return []OutJob{o}, err
	}
	us := j.Units()
	first, err := j.withUnits(us[:len(us)/2]).outSplit(ordered)
	if err != nil {
		return nil, err
	}
	rest, err := j.withUnits(us[len(us)/2:]).outSplit(ordered)
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// approxUnitSize is a cheap estimate of a unit's encoded size.
func approxUnitSize(u Unit) int {
	n := 0
	for _, ev := range append([]events.Event{u.Event}, u.Batch...) {
		n += 192 + len(ev.ID) + len(ev.GroupID) + len(ev.CommandID) + len(ev.CorrelationID) + len(ev.Actor) + len(ev.Data)
	}
	return n
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
