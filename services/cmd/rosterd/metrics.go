package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}
