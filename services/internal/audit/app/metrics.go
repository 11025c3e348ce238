package app

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// SinkMetrics are the sink's Prometheus collectors (names are a public
// contract: docs/operations.md).
type SinkMetrics struct {
	Rows         *prometheus.CounterVec // by table
	InsertErrors *prometheus.CounterVec // by kind: transient, permanent
	DeadLetters  prometheus.Counter
}

// NewSinkMetrics registers the sink's collectors on reg (a fresh private
// registry when nil), reusing any already registered there under the same
// names, so that several sinks of one process share them.
func NewSinkMetrics(reg prometheus.Registerer) (*SinkMetrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var err error
	m := &SinkMetrics{
		Rows: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_audit_rows_inserted_total",
			Help: "Rows the audit sink inserted into ClickHouse, by table (a redelivered row counts again).",
		}, []string{"table"}), &err),
		InsertErrors: Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_audit_insert_errors_total",
			Help: "Failed ClickHouse inserts by the audit sink, by kind (transient: retried; permanent: rows isolated).",
		}, []string{"kind"}), &err),
		DeadLetters: Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_deadletters_total",
			Help: "Records the audit sink moved to roster.audit.deadletter.",
		}), &err),
	}
	return m, err
}

// Register registers c on reg, or returns the collector already
// registered there under the same name; a conflicting registration is
// added to *errp.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
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
