package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/membership"
)

// The membership projection: "rosterd projector" keeps the read model up
// to date from ROSTER_EVENTS, "rosterd query" serves roster-query from it.
// "rosterd all" and "rosterd dev" run both.
func init() {
	register(service{
		name:  "projector",
		short: "Fold ROSTER_EVENTS into the membership read model (KV ROSTER_MEMBERS_v<N>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			p, err := membership.NewProjector(membership.Config{
				JS: e.js, Log: e.log.With().Str("component", "projector").Logger(),
				Store: membership.StoreConfig{Replicas: e.opts.replicas},
			})
			if err != nil {
				return nil, err
			}
			m, err := projectionMetrics(p)
			if err != nil {
				return nil, err
			}
			return []component{
				{name: "projector", run: p.Run, ready: p.Ready},
				{name: "projection-lag", run: func(ctx context.Context) error { return m.poll(ctx, e, 5*time.Second) }},
			}, nil
		},
	})
	register(service{
		name:  "query",
		short: "Serve membership queries (micro service roster-query on roster.query.>)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			q, err := membership.NewQueries(membership.QueryConfig{
				NC: e.nc, JS: e.js, Log: e.log.With().Str("component", "query").Logger(),
				Store: membership.StoreConfig{Replicas: e.opts.replicas},
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "query", run: q.Run, ready: q.Ready}}, nil
		},
	})
}

// projMetrics exports the projector's progress. Lag is measured against
// the stream (its last sequence vs the durable consumer's ack floor), so it
// is right even while the projector is stuck or idle.
type projMetrics struct {
	streamSeq, appliedSeq, lag prometheus.Gauge
}

func projectionMetrics(p *membership.Projector) (*projMetrics, error) {
	// A second build in one process (tests) reuses the registered gauges.
	gauge := func(name, help string) (prometheus.Gauge, error) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		var are prometheus.AlreadyRegisteredError
		if err := prometheus.Register(g); errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(prometheus.Gauge); ok {
				return old, nil
			}
			return nil, err
		} else if err != nil {
			return nil, err
		}
		return g, nil
	}
	m := &projMetrics{}
	var errs []error
	for _, g := range []struct {
		dst        *prometheus.Gauge
		name, help string
	}{
		{&m.streamSeq, "roster_projection_stream_last_seq", "Last sequence of ROSTER_EVENTS."},
		{&m.appliedSeq, "roster_projection_applied_seq", "Stream sequence up to which the active generation has applied every commit."},
		{&m.lag, "roster_projection_lag_commits", "Commits in ROSTER_EVENTS not yet applied to the read model."},
	} {
		v, err := gauge(g.name, g.help)
		*g.dst = v
		errs = append(errs, err)
	}
	stat := func(f func(membership.Stats) uint64) func() float64 {
		return func() float64 { return float64(f(p.Stats())) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roster_projection_commits_total", Help: "Commits applied by this process."},
			stat(func(s membership.Stats) uint64 { return s.Commits })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roster_projection_events_total", Help: "Events applied by this process."},
			stat(func(s membership.Stats) uint64 { return s.Events })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roster_projection_redelivered_total", Help: "Redelivered commits skipped because already applied."},
			stat(func(s membership.Stats) uint64 { return s.Redelivered })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roster_projection_failures_total", Help: "Batches or commits that had to be retried."},
			stat(func(s membership.Stats) uint64 { return s.Failures })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roster_projection_generation", Help: "Generation the projector writes."},
			stat(func(s membership.Stats) uint64 { return s.Generation })),
	} {
		var are prometheus.AlreadyRegisteredError
		if err := prometheus.Register(c); err != nil && !errors.As(err, &are) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("projection metrics: %w", err)
	}
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
