package main

import (
	"errors"
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// newRegistry is the one Prometheus registry of a process
// (docs/adr/0078): the Go runtime and process collectors, and every
// service's collectors, each service getting it through env.metrics.
// Processes are not the only ones: tests run several in one binary, and
// each has its own registry, so they never collide.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// metricsHandler serves /metrics from reg, counting its own requests there
// (promhttp_metric_handler_*, as the default handler did).
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(withGlobal(reg), promhttp.HandlerOpts{}))
}

// withGlobal gathers reg and, after it, the families of the global default
// registry that reg does not have. Some packages still register there at
// init (groups, eventstore and audit: their collectors move to their
// Config's Metrics field, which rosterd fills with env.metrics); until
// they all do, /metrics must still show theirs. The default registry's
// own Go and process collectors are skipped that way, being in reg too.
func withGlobal(reg *prometheus.Registry) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		own, err := reg.Gather()
		have := make(map[string]bool, len(own))
		for _, mf := range own {
			have[mf.GetName()] = true
		}
		global, gerr := prometheus.DefaultGatherer.Gather()
		for _, mf := range global {
			if !have[mf.GetName()] {
				own = append(own, mf)
			}
		}
		sort.Slice(own, func(i, j int) bool { return own[i].GetName() < own[j].GetName() })
		return own, errors.Join(err, gerr)
	})
}
