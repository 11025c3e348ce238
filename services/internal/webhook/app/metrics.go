package app

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m.Attempts = register(reg, m.Attempts, &err)
	m.Latency = register(reg, m.Latency, &err)
	m.Depth = register(reg, m.Depth, &err)
	m.Enqueued = register(reg, m.Enqueued, &err)
	m.Paused = register(reg, m.Paused, &err)
	m.Held = register(reg, m.Held, &err)
	return m, err
}

// register registers c, or reuses the collector already registered under
// the same name (several dispatchers in one process share the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		*errp = errors.Join(*errp, err)
	}
	return c
}
