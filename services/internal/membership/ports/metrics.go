package ports

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/services/internal/metrics"
)

// Metrics are roster-query's Prometheus collectors (names are a public
// contract). They carry what micro's endpoint stats cannot, since the edge
// replies from its workers: outcomes by code and latency.
type Metrics struct {
	Requests *prometheus.CounterVec   // by endpoint and code ("ok" or the error code)
	Latency  *prometheus.HistogramVec // by endpoint, min_version waits included
}

// NewMetrics registers the collectors on reg, or reuses those already
// registered there (a restarted service in the same process).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roster", Subsystem: "query", Name: "requests_total",
			Help: "roster-query requests answered, by endpoint and code (ok or the error code).",
		}, []string{"endpoint", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "roster", Subsystem: "query", Name: "request_seconds",
			Help:    "roster-query request latency by endpoint, min_version waits included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 3, 12),
		}, []string{"endpoint"}),
	}
	var err error
	m.Requests = metrics.Register(reg, m.Requests, &err)
	m.Latency = metrics.Register(reg, m.Latency, &err)
	return m, err
}
