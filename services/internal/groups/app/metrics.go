package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the command side's Prometheus series. Their names are a
// public contract (docs/commands.md).
type Metrics struct {
	commands  *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
	conflicts prometheus.Counter
	// loaded counts events folded while loading cold groups (after their
	// snapshot): it shows whether snapshots keep loads short.
	loaded prometheus.Counter
	cache  *prometheus.CounterVec
}

// NewMetrics registers the series on reg; nil registers them on a private
// registry (so services in one test binary never collide). A series
// already on reg (a second service in one process) is shared.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_commands_total", Help: "Group commands handled, by command, outcome and error code.",
		}, []string{"command", "outcome", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_command_duration_seconds", Help: "Time to decide and append a group command.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"command"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_command_conflicts_total", Help: "Optimistic-concurrency conflicts that made a command reload and re-decide.",
		}),
		loaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_group_load_events_total", Help: "Events folded while loading cold groups from snapshot and stream.",
		}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_group_cache_lookups_total", Help: "Group state lookups, by hit or miss (miss: loaded from snapshot and events).",
		}, []string{"result"}),
	}
	var err error
	m.commands, err = register(reg, m.commands)
	if err == nil {
		m.seconds, err = register(reg, m.seconds)
	}
	if err == nil {
		m.conflicts, err = register(reg, m.conflicts)
	}
	if err == nil {
		m.loaded, err = register(reg, m.loaded)
	}
	if err == nil {
		m.cache, err = register(reg, m.cache)
	}
	if err != nil {
		return nil, fmt.Errorf("register groups metrics: %w", err)
	}
	return m, nil
}

// register adds c to reg, or returns the collector of the same
// description reg already holds.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

func (m *Metrics) observe(command, outcome, code string, d time.Duration) {
	m.commands.WithLabelValues(command, outcome, code).Inc()
	m.seconds.WithLabelValues(command).Observe(d.Seconds())
}

func (m *Metrics) cacheResult(hot bool) {
	if hot {
		m.cache.WithLabelValues("hit").Inc()
	} else {
		m.cache.WithLabelValues("miss").Inc()
	}
}
