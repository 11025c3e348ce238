package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/services/internal/metrics"
)

// Metrics are the dispatcher's Prometheus collectors (names are a
// public contract).
type Metrics struct {
	Attempts *prometheus.CounterVec // by outcome class ("success" or a failure class)
	Latency  prometheus.Histogram   // attempt latency
	Depth    *prometheus.GaugeVec   // jobs queued or in flight per endpoint
	Enqueued prometheus.Counter     // jobs the fan-out enqueued
	Paused   *prometheus.CounterVec // automatic pauses by endpoint
	Held     prometheus.Counter     // ordered jobs held behind an earlier one
}

// NewMetrics registers the collectors on reg (several dispatchers on one
// registry share them).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts by outcome class (success or the failure class).",
		}, []string{"class"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "attempt_seconds",
			Help:    "Webhook attempt latency (connect to last body byte).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		Depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "queue_depth",
			Help: "Delivery jobs queued or in flight per endpoint (sampled).",
		}, []string{"endpoint"}),
		Enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "jobs_enqueued_total",
			Help: "Delivery jobs enqueued by the fan-out.",
		}),
		Paused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "auto_pauses_total",
			Help: "Endpoints paused automatically by the health policy.",
		}, []string{"endpoint"}),
		Held: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "ordered_holds_total",
			Help: "Ordered-endpoint jobs held back behind an earlier job of their group.",
		}),
	}
	var err error
	m.Attempts = metrics.Register(reg, m.Attempts, &err)
	m.Latency = metrics.Register(reg, m.Latency, &err)
	m.Depth = metrics.Register(reg, m.Depth, &err)
	m.Enqueued = metrics.Register(reg, m.Enqueued, &err)
	m.Paused = metrics.Register(reg, m.Paused, &err)
	m.Held = metrics.Register(reg, m.Held, &err)
	return m, err
}
