package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	attempts *prometheus.CounterVec // by outcome class ("success" or a failure class)
	latency  prometheus.Histogram   // attempt latency
	depth    *prometheus.GaugeVec   // jobs queued or in flight per endpoint
	enqueued prometheus.Counter     // jobs the fan-out enqueued
	paused   *prometheus.CounterVec // automatic pauses by endpoint
	held     prometheus.Counter     // ordered jobs held behind an earlier one
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts by outcome class (success or the failure class).",
		}, []string{"class"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "attempt_seconds",
			Help:    "Webhook attempt latency (connect to last body byte).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "queue_depth",
			Help: "Delivery jobs queued or in flight per endpoint (sampled).",
		}, []string{"endpoint"}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "jobs_enqueued_total",
			Help: "Delivery jobs enqueued by the fan-out.",
		}),
		paused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "auto_pauses_total",
			Help: "Endpoints paused automatically by the health policy.",
		}, []string{"endpoint"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "webhook", Name: "ordered_holds_total",
			Help: "Ordered-endpoint jobs held back behind an earlier job of their group.",
		}),
	}
	var err error
	m.attempts = register(reg, m.attempts, &err)
	m.latency = register(reg, m.latency, &err)
	m.depth = register(reg, m.depth, &err)
	m.enqueued = register(reg, m.enqueued, &err)
	m.paused = register(reg, m.paused, &err)
	m.held = register(reg, m.held, &err)
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
