package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/metrics"
)

// newProjectorService is "rosterd projector": it keeps the membership read
// model up to date from ROSTER_EVENTS ("rosterd query" serves it; "all" and
// "dev" run both).
func newProjectorService() service {
	return service{
		name:  "projector",
		short: "Fold ROSTER_EVENTS into the membership read model (KV ROSTER_MEMBERS_v<N>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			// e.metrics is for membership.Config.Metrics; the projection
			// metrics rosterd exports itself are on it already.
			p, err := membership.NewProjector(membership.Config{
				JS: e.js, Log: e.log.With().Str("component", "projector").Logger(),
				Store: membership.StoreConfig{Replicas: e.opts.replicas},
			})
			if err != nil {
				return nil, err
			}
			m, err := projectionMetrics(e.metrics, p)
			if err != nil {
				return nil, err
			}
			return []component{
				{name: "projector", run: p.Run, ready: p.Ready},
				{name: "projection-lag", run: func(ctx context.Context) error { return m.poll(ctx, e, 5*time.Second) }},
			}, nil
		},
	}
}

// projMetrics exports the projector's progress. Lag is measured against
// the stream (its last sequence vs the durable consumer's ack floor), so it
// is right even while the projector is stuck or idle.
type projMetrics struct {
	streamSeq, appliedSeq, lag prometheus.Gauge
}

// projectionMetrics registers the projection's metrics on reg, or takes
// those a previous build of the service registered there (the supervisor
// builds a new Projector on every restart) and points them at p.
func projectionMetrics(reg prometheus.Registerer, p *membership.Projector) (*projMetrics, error) {
	m := &projMetrics{}
	var err error
	for _, g := range []struct {
		dst        *prometheus.Gauge
		name, help string
	}{
		{&m.streamSeq, "roster_projection_stream_last_seq", "Last sequence of ROSTER_EVENTS."},
		{&m.appliedSeq, "roster_projection_applied_seq", "Stream sequence up to which the active generation has applied every commit."},
		{&m.lag, "roster_projection_lag_commits", "Commits in ROSTER_EVENTS not yet applied to the read model."},
	} {
		*g.dst = metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: g.name, Help: g.help}), &err)
	}
	c := metrics.Register(reg, newProjCollector(), &err)
	if err != nil {
		return nil, fmt.Errorf("projection metrics: %w", err)
	}
	c.follow(p)
	return m, nil
}

func (m *projMetrics) poll(ctx context.Context, e *env, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := membership.ReadStatus(ctx, e.js)
		if err == nil {
			m.streamSeq.Set(float64(st.StreamLastSeq))
			m.appliedSeq.Set(float64(st.AppliedSeq))
			m.lag.Set(float64(st.Lag))
		} else if ctx.Err() == nil {
			e.log.Debug().Err(err).Msg("projection status")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// projCollector exports the counters of the process's projector. The
// counters count for the process: when the supervisor replaces the
// projector, what the retired one counted is kept.
type projCollector struct {
	commits, events, redelivered, failures, generation *prometheus.Desc

	mu      sync.Mutex
	cur     *membership.Projector
	retired membership.Stats
}

func newProjCollector() *projCollector {
	desc := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &projCollector{
		commits:     desc("roster_projection_commits_total", "Commits applied by this process."),
		events:      desc("roster_projection_events_total", "Events applied by this process."),
		redelivered: desc("roster_projection_redelivered_total", "Redelivered commits skipped because already applied."),
		failures:    desc("roster_projection_failures_total", "Batches or commits that had to be retried."),
		generation:  desc("roster_projection_generation", "Generation the projector writes."),
	}
}

// follow makes p the projector whose counts are exported.
func (c *projCollector) follow(p *membership.Projector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.cur != p {
		old := c.cur.Stats()
		c.retired.Commits += old.Commits
		c.retired.Events += old.Events
		c.retired.Redelivered += old.Redelivered
		c.retired.Failures += old.Failures
	}
	c.cur = p
}

func (c *projCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.commits, c.events, c.redelivered, c.failures, c.generation} {
		ch <- d
	}
}

func (c *projCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	var s membership.Stats
	if c.cur != nil {
		s = c.cur.Stats()
	}
	r := c.retired
	c.mu.Unlock()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.commits, r.Commits+s.Commits)
	counter(c.events, r.Events+s.Events)
	counter(c.redelivered, r.Redelivered+s.Redelivered)
	counter(c.failures, r.Failures+s.Failures)
	ch <- prometheus.MustNewConstMetric(c.generation, prometheus.GaugeValue, float64(s.Generation))
}
