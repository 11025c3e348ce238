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
	metricRecordErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_audit_record_errors_total",
		Help: "Record or RecordDurable calls that returned an error to their caller, the record not taken, by reason (context: the caller's deadline passed while the buffer was full; closed: the publisher was shutting down; publish: JetStream did not confirm a durable record; encode).",
	}, []string{"reason"})
	metricBackpressure = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_backpressure_waits_total",
		Help: "Record calls that found the publisher's buffer full and waited for room.",
	})
	metricAbandoned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_audit_abandoned_total",
		Help: "Records the publisher had taken but JetStream had not stored when its shutdown drain deadline passed (lost as in a crash; each is logged).",
	})
)

func init() {
	prometheus.MustRegister(metricRows, metricInsertErrors, metricDeadLetters, metricPublished, metricPublishErrors, metricRecordErrors, metricBackpressure, metricAbandoned)
}
