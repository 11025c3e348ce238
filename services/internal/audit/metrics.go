package audit

import "github.com/prometheus/client_golang/prometheus"

var (
	metricRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_audit_rows_inserted_total",
		Help: "Rows the audit sink inserted into ClickHouse, by table (a redelivered row counts again).",
	}, []string{"table"})
	metricInsertErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_audit_insert_errors_total",
		Help: "Failed ClickHouse inserts by the audit sink, by kind (transient: retried; permanent: rows isolated).",
	}, []string{"kind"})
	metricDeadLetters = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_deadletters_total",
		Help: "Records the audit sink moved to roster.audit.deadletter.",
	})
	metricPublished = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_published_total",
		Help: "Audit records acknowledged by ROSTER_AUDIT.",
	})
	metricPublishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_publish_errors_total",
		Help: "Failed audit publish attempts (each is retried).",
	})
	metricDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_dropped_total",
		Help: "Audit records dropped because the publisher's buffer was full or it was shutting down.",
	})
)

func init() {
	prometheus.MustRegister(metricRows, metricInsertErrors, metricDeadLetters, metricPublished, metricPublishErrors, metricDropped)
}
