package groups

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	commandsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_commands_total", Help: "Group commands handled, by command, outcome and error code.",
	}, []string{"command", "outcome", "code"})
	commandSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "roster_command_duration_seconds", Help: "Time to decide and append a group command.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"command"})
	conflicts = promauto.NewCounter(prometheus.CounterOpts{
		Name: "roster_command_conflicts_total", Help: "Optimistic-concurrency conflicts that made a command reload and re-decide.",
	})
	// LoadedEvents counts events folded while loading cold groups (after
	// their snapshot): it shows whether snapshots keep loads short.
	LoadedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "roster_group_load_events_total", Help: "Events folded while loading cold groups from snapshot and stream.",
	})
	cacheLookups = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_group_cache_lookups_total", Help: "Group state lookups, by hit or miss (miss: loaded from snapshot and events).",
	}, []string{"result"})
)

func observe(command, outcome, code string, d time.Duration) {
	commandsTotal.WithLabelValues(command, outcome, code).Inc()
	commandSeconds.WithLabelValues(command).Observe(d.Seconds())
}

func cacheResult(hot bool) {
	if hot {
		cacheLookups.WithLabelValues("hit").Inc()
	} else {
		cacheLookups.WithLabelValues("miss").Inc()
	}
}

func sortStrings(s []string) { sort.Strings(s) }
