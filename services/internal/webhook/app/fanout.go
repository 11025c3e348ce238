package app

// FanOut turns one commit into one job per (event, matching endpoint),
// in commit order. refanned says the commit was handed out before, so its
// jobs may exist already (ADR 0013). The queue deduplicates the jobs by
// MsgID (endpoint:event), so a commit fanned out twice inside the
// duplicate window enqueues nothing new; the caller acknowledges the
// commit only once every job is stored.
func (a *App) FanOut(c Commit, refanned bool) ([]OutJob, error) {
	eps := a.cfg.View.All()
	now := a.now().UTC()
	var out []OutJob
	for _, ev := range c.Events {
		for _, ep := range eps {
			if c.Seq <= ep.StartSeq || !ep.Wants(ev) {
				continue
			}
			j := Job{EndpointID: ep.ID, Event: ev, StreamSeq: c.Seq, Trigger: TriggerScheduled, EnqueuedAt: now, Refanned: refanned}
			o, err := j.out(ep.Ordered)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// JobsEnqueued counts jobs the fan-out stored.
func (a *App) JobsEnqueued(n int) { a.cfg.Metrics.Enqueued.Add(float64(n)) }
