package publisher

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/services/internal/metrics"
)

// Metrics are the publisher's Prometheus collectors (names are a public
// contract: docs/operations.md).
type Metrics struct {
	Published     prometheus.Counter
	PublishErrors prometheus.Counter
	RecordErrors  *prometheus.CounterVec // by reason
	Backpressure  prometheus.Counter
	Abandoned     prometheus.Counter
}

// NewMetrics registers the publisher's collectors on reg (a fresh private
// registry when nil), reusing any already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var err error
	m := &Metrics{
		Published: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_published_total",
			Help: "Audit records acknowledged by ROSTER_AUDIT.",
		}), &err),
		PublishErrors: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_publish_errors_total",
			Help: "Failed audit publish attempts (each is retried).",
		}), &err),
		RecordErrors: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_audit_record_errors_total",
			Help: "Record or RecordDurable calls that returned an error to their caller, the record not taken, by reason (context: the caller's deadline passed while the buffer was full; closed: the publisher was shutting down; publish: JetStream did not confirm a durable record; encode).",
		}, []string{"reason"}), &err),
		Backpressure: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_backpressure_waits_total",
			Help: "Record calls that found the publisher's buffer full and waited for room.",
		}), &err),
		Abandoned: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_abandoned_total",
			Help: "Records the publisher had taken but JetStream had not stored when its shutdown drain deadline passed (lost as in a crash; each is logged).",
		}), &err),
	}
	return m, err
}
