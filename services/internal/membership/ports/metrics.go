package ports

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m.Requests = register(reg, m.Requests, &err)
	m.Latency = register(reg, m.Latency, &err)
	return m, err
}

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
