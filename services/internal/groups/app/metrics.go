package app

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/services/internal/metrics"
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
	reg = metrics.Or(reg)
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
	m.commands = metrics.Register(reg, m.commands, &err)
	m.seconds = metrics.Register(reg, m.seconds, &err)
	m.conflicts = metrics.Register(reg, m.conflicts, &err)
	m.loaded = metrics.Register(reg, m.loaded, &err)
	m.cache = metrics.Register(reg, m.cache, &err)
	if err != nil {
		return nil, fmt.Errorf("register groups metrics: %w", err)
	}
	return m, nil
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
