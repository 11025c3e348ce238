package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

type where struct {
	clauses []string
	args    []any
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.clauses = append(w.clauses, col+" = ?")
		w.args = append(w.args, v)
	}
}

func (w *where) timeRange(usCol string, f app.Filter) {
	if !f.Since.IsZero() {
		w.clauses = append(w.clauses, usCol+" >= ?")
		w.args = append(w.args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		w.clauses = append(w.clauses, usCol+" < ?")
		w.args = append(w.args, f.Until.UnixMicro())
	}
}

func (w *where) sql() string {
	if len(w.clauses) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.clauses, " AND ")
}

// Reader is the app.TrailReader on ClickHouse. Every query reads with
// FINAL, so copies a redelivery wrote are never shown. Its filters'
// limits are normalised here too, for callers that use it directly.
type Reader struct {
	Conn driver.Conn
	DB   string
}

func (r Reader) from(t *table) string { return quoteIdent(r.DB) + "." + t.name + " FINAL" }

// Commands lists commands, newest first.
func (r Reader) Commands(ctx context.Context, f app.Filter) ([]record.Command, error) {
	f = f.Normalized()
	var w where
	w.eq("group_id", f.GroupID)
	w.eq("actor", f.Actor)
	w.eq("outcome", f.Status)
	w.timeRange("received_at_us", f)
	q := "SELECT id, command_id, subject, group_id, actor, outcome, error_code, error_message, version, latency_us, received_at_us, payload_sha256, payload_size FROM " +
		r.from(commandsTable) + w.sql() + fmt.Sprintf(" ORDER BY received_at_us DESC, id LIMIT %d", f.Limit)
	rows, err := r.Conn.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("query commands: %w", err)
	}
	defer rows.Close()
	var out []record.Command
	for rows.Next() {
		var c record.Command
		var us int64
		var size uint32
		if err := rows.Scan(&c.ID, &c.CommandID, &c.Subject, &c.GroupID, &c.Actor, &c.Outcome, &c.ErrorCode, &c.ErrorMsg,
			&c.Version, &c.LatencyUS, &us, &c.PayloadHash, &size); err != nil {
			return nil, fmt.Errorf("query commands: %w", err)
		}
		c.ReceivedAt, c.PayloadSize = time.UnixMicro(us).UTC(), int(size)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Events lists events, oldest first (a group's history reads in order).
func (r Reader) Events(ctx context.Context, f app.Filter) ([]record.Event, error) {
	f = f.Normalized()
	var w where
	w.eq("group_id", f.GroupID)
	w.eq("actor", f.Actor)
	w.eq("id", f.EventID)
	w.eq("type", f.EventType)
	w.timeRange("occurred_at_us", f)
	q := "SELECT id, type, schema_version, group_id, version, stream_seq, command_id, correlation_id, actor, occurred_at_us, data FROM " +
		r.from(eventsTable) + w.sql() + fmt.Sprintf(" ORDER BY occurred_at_us, group_id, version LIMIT %d", f.Limit)
	rows, err := r.Conn.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var out []record.Event
	for rows.Next() {
		var e record.Event
		var sv uint16
		var us int64
		if err := rows.Scan(&e.ID, &e.Type, &sv, &e.GroupID, &e.Version, &e.StreamSeq, &e.CommandID, &e.CorrelationID, &e.Actor, &us, &e.Data); err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		e.SchemaVersion, e.OccurredAt = int(sv), time.UnixMicro(us).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// deliveryColumns are the delivery_attempts columns Deliveries reads, in
// its Scan order.
const deliveryColumns = "id, event_id, event_type, group_id, endpoint_id, url, format, attempt, trigger, " +
	"request_header_names, request_header_values, request_size, request_sha256, response_status, " +
	"response_header_names, response_header_values, response_body, success, failure_class, failure_message, " +
	"latency_us, started_at_us, next_attempt_at, state, repeat"

// Deliveries lists delivery attempts, oldest first: every HTTP request is
// a row, a request sent again after its dispatcher died marked Repeat.
// With f.Final it lists each delivery's latest row instead.
func (r Reader) Deliveries(ctx context.Context, f app.Filter) ([]record.DeliveryAttempt, error) {
	f = f.Normalized()
	var w, outer where
	w.eq("group_id", f.GroupID)
	w.eq("endpoint_id", f.EndpointID)
	w.eq("event_id", f.EventID)
	w.eq("event_type", f.EventType)
	final := &w
	if f.Final {
		final = &outer
	}
	final.eq("state", f.Status)
	final.eq("failure_class", f.Class)
	w.timeRange("started_at_us", f)
	q := "SELECT " + deliveryColumns + " FROM " + r.from(deliveryAttemptsTable) + w.sql()
	if f.Final {
		// The latest row of each (endpoint, event): attempts follow each
		// other in time (a repeat starts after its predecessor's holder
		// died, a redelivery after the series it replaces), and on a tie
		// the higher attempt, then the repeat, came later.
		q = "SELECT " + deliveryColumns + " FROM (" + q +
			" ORDER BY started_at_us DESC, attempt DESC, repeat DESC, id DESC LIMIT 1 BY endpoint_id, event_id)" + outer.sql()
	}
	q += fmt.Sprintf(" ORDER BY started_at_us, id LIMIT %d", f.Limit)
	args := append(w.args, outer.args...)
	rows, err := r.Conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query deliveries: %w", err)
	}
	defer rows.Close()
	var out []record.DeliveryAttempt
	for rows.Next() {
		var (
			d                    record.DeliveryAttempt
			attempt, reqSize     uint32
			status               uint16
			success, repeat      uint8
			us                   int64
			reqN, reqV, resN, rV []string
			next                 *time.Time
		)
		if err := rows.Scan(&d.ID, &d.EventID, &d.EventType, &d.GroupID, &d.EndpointID, &d.URL, &d.Format, &attempt, &d.Trigger,
			&reqN, &reqV, &reqSize, &d.RequestHash, &status, &resN, &rV, &d.ResponseBody, &success, &d.FailureClass,
			&d.FailureMsg, &d.LatencyUS, &us, &next, &d.State, &repeat); err != nil {
			return nil, fmt.Errorf("query deliveries: %w", err)
		}
		d.Attempt, d.RequestSize, d.ResponseStatus, d.Success, d.Repeat = int(attempt), int(reqSize), int(status), success == 1, repeat == 1
		d.StartedAt = time.UnixMicro(us).UTC()
		d.RequestHeaders, d.ResponseHeaders = zipHeaders(reqN, reqV), zipHeaders(resN, rV)
		if next != nil {
			t := next.UTC()
			d.NextAttemptAt = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// EndpointChanges lists endpoint changes, oldest first.
func (r Reader) EndpointChanges(ctx context.Context, f app.Filter) ([]record.EndpointChange, error) {
	f = f.Normalized()
	var w where
	w.eq("group_id", f.GroupID)
	w.eq("endpoint_id", f.EndpointID)
	w.eq("actor", f.Actor)
	w.eq("change", f.Status)
	w.timeRange("at_us", f)
	q := "SELECT id, endpoint_id, change, actor, automatic, reason, group_id, endpoint, at_us FROM " +
		r.from(endpointChangesTable) + w.sql() + fmt.Sprintf(" ORDER BY at_us, id LIMIT %d", f.Limit)
	rows, err := r.Conn.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("query endpoint changes: %w", err)
	}
	defer rows.Close()
	var out []record.EndpointChange
	for rows.Next() {
		var c record.EndpointChange
		var auto uint8
		var us int64
		if err := rows.Scan(&c.ID, &c.EndpointID, &c.Change, &c.Actor, &auto, &c.Reason, &c.GroupID, &c.Endpoint, &us); err != nil {
			return nil, fmt.Errorf("query endpoint changes: %w", err)
		}
		c.Automatic, c.At = auto == 1, time.UnixMicro(us).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// PolicyDecisions lists policy hook decisions, oldest first.
func (r Reader) PolicyDecisions(ctx context.Context, f app.Filter) ([]record.PolicyDecision, error) {
	f = f.Normalized()
	var w where
	w.eq("hook_id", f.HookID)
	w.eq("group_id", f.GroupID)
	w.eq("actor", f.Actor)
	w.eq("outcome", f.Status)
	w.eq("failure_class", f.Class)
	w.timeRange("decided_at_us", f)
	q := "SELECT id, decided_at_us, hook_id, command, command_id, command_audit_id, group_id, actor, request_id, format, " +
		"outcome, failure_class, on_failure, latency_ms, response_status, response_body, code, message, override FROM " +
		r.from(policyDecisionsTable) + w.sql() + fmt.Sprintf(" ORDER BY decided_at_us, id LIMIT %d", f.Limit)
	rows, err := r.Conn.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("query policy decisions: %w", err)
	}
	defer rows.Close()
	var out []record.PolicyDecision
	for rows.Next() {
		var d record.PolicyDecision
		var us int64
		var status uint16
		if err := rows.Scan(&d.ID, &us, &d.HookID, &d.Command, &d.CommandID, &d.CommandAuditID, &d.GroupID, &d.Actor, &d.RequestID,
			&d.Format, &d.Outcome, &d.FailureClass, &d.OnFailure, &d.LatencyMS, &status, &d.ResponseBody, &d.Code, &d.Message, &d.Override); err != nil {
			return nil, fmt.Errorf("query policy decisions: %w", err)
		}
		d.DecidedAt, d.ResponseStatus = time.UnixMicro(us).UTC(), int(status)
		out = append(out, d)
	}
	return out, rows.Err()
}

func zipHeaders(names, values []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]string, len(names))
	for i, n := range names {
		if i < len(values) {
			m[n] = values[i]
		}
	}
	return m
}
