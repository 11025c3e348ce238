package main

import (
	"context"

	"github.com/rosterhq/roster/services/internal/audit"
)

// newAuditSinkService is "rosterd auditsink": ROSTER_AUDIT and
// ROSTER_EVENTS into ClickHouse.
func newAuditSinkService() service {
	return service{
		name:  "auditsink",
		short: "Write audit records (ROSTER_AUDIT) and events (ROSTER_EVENTS) to ClickHouse (--clickhouse-dsn)",
		build: func(ctx context.Context, e *env) ([]component, error) {
			s, err := audit.NewSink(audit.SinkConfig{
				JS:         e.js,
				Log:        e.log,
				ClickHouse: audit.ClickHouseConfig{DSN: e.opts.clickhouseDSN},
				Stream:     audit.StreamConfig{Replicas: e.opts.replicas},
				Metrics:    e.metrics,
			})
			if err != nil {
				return nil, err
			}
			return []component{{name: "auditsink", run: s.Run, ready: s.Ready}}, nil
		},
	}
}

// newAuditRecorder is the process's audit publisher to ROSTER_AUDIT, which
// every service of the process records through (env.audit). runServices
// runs it on its own context, stopped only after every other component has
// returned, so the records of the last requests are drained too (events
// never depend on it: the sink reads them from ROSTER_EVENTS; docs/adr/0020).
func newAuditRecorder(e *env) (audit.Recorder, error) {
	return audit.NewPublisher(audit.PublisherConfig{
		JS: e.js, Log: e.log, Stream: audit.StreamConfig{Replicas: e.opts.replicas},
		Metrics: e.metrics,
	})
}
