package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/services/internal/metrics"
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
		Rows: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_audit_rows_inserted_total",
			Help: "Rows the audit sink inserted into ClickHouse, by table (a redelivered row counts again).",
		}, []string{"table"}), &err),
		InsertErrors: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_audit_insert_errors_total",
			Help: "Failed ClickHouse inserts by the audit sink, by kind (transient: retried; permanent: rows isolated).",
		}, []string{"kind"}), &err),
		DeadLetters: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_audit_deadletters_total",
			Help: "Records the audit sink moved to roster.audit.deadletter.",
		}), &err),
	}
	return m, err
}
