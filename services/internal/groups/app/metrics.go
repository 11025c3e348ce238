package app

import (
	"fmt"
	"sync"
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

	// The series every command touches, resolved once: WithLabelValues
	// hashes its labels on each call, twice per command.
	seriesMu sync.RWMutex
	series   map[seriesKey]commandSeries
	hit      func() prometheus.Counter
	miss     func() prometheus.Counter
}

type seriesKey struct{ command, outcome, code string }

type commandSeries struct {
	count   prometheus.Counter
	seconds prometheus.Observer
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
	m.series = map[seriesKey]commandSeries{}
	m.hit = sync.OnceValue(func() prometheus.Counter { return m.cache.WithLabelValues("hit") })
	m.miss = sync.OnceValue(func() prometheus.Counter { return m.cache.WithLabelValues("miss") })
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
	k := seriesKey{command, outcome, code}
	m.seriesMu.RLock()
	s, ok := m.series[k]
	m.seriesMu.RUnlock()
	if !ok {
		// Commands, outcomes and codes are closed sets: the map stays small.
		s = commandSeries{m.commands.WithLabelValues(command, outcome, code), m.seconds.WithLabelValues(command)}
		m.seriesMu.Lock()
		m.series[k] = s
		m.seriesMu.Unlock()
	}
	s.count.Inc()
	s.seconds.Observe(d.Seconds())
}

func (m *Metrics) cacheResult(hot bool) {
	if hot {
		m.hit().Inc()
	} else {
		m.miss().Inc()
	}
}
