package clickhouse

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// table is one ClickHouse table of the trail. Inserts name every column
// explicitly: ClickHouse 18.16 cannot append to a batch prepared with a
// bare "INSERT INTO t" (see docs/adr/0022).
type table struct {
	name    string
	columns []string
	// rows makes an empty set of this table's rows with room for n.
	rows func(n int) rows
}

func (t *table) insert(db string) string {
	return "INSERT INTO " + quoteIdent(db) + "." + t.name + " (" + strings.Join(t.columns, ", ") + ")"
}

// rows holds records of one table column by column, the shape the native
// protocol sends: each column is one slice of the column's exact Go type,
// appended to the batch in one call (docs/adr/0110). Row-wise appends box
// every value into an interface and convert it back, which cost the sink
// more CPU than the rest of its insert.
type rows interface {
	// add appends r; false when r is not a record of this table.
	add(r record.Record) bool
	// appendTo appends every column to b, in the table's column order.
	appendTo(b driver.Batch) error
}

// tableRows are the rows of a table of records R.
type tableRows[R record.Record] struct {
	names []string
	cols  []columnValues[R]
}

func (t *tableRows[R]) add(r record.Record) bool {
	v, ok := r.(R)
	if !ok {
		return false
	}
	for _, c := range t.cols {
		c.add(&v)
	}
	return true
}

func (t *tableRows[R]) appendTo(b driver.Batch) error {
	for i, c := range t.cols {
		if err := c.appendTo(b.Column(i)); err != nil {
			return fmt.Errorf("column %s: %w", t.names[i], err)
		}
	}
	return nil
}

// columnValues collects one column's values.
type columnValues[R any] interface {
	add(r *R)
	appendTo(c driver.BatchColumn) error
}

type values[R, T any] struct {
	get  func(*R) T
	vals []T
}

func (c *values[R, T]) add(r *R)                            { c.vals = append(c.vals, c.get(r)) }
func (c *values[R, T]) appendTo(b driver.BatchColumn) error { return b.Append(c.vals) }

// column is a column of a table of records R: its name and its value, of
// the column's exact Go type.
type column[R any] struct {
	name string
	make func(n int) columnValues[R]
}

func col[R, T any](name string, get func(*R) T) column[R] {
	return column[R]{name: name, make: func(n int) columnValues[R] {
		return &values[R, T]{get: get, vals: make([]T, 0, n)}
	}}
}

func newTable[R record.Record](name string, cols ...column[R]) *table {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return &table{name: name, columns: names, rows: func(n int) rows {
		vals := make([]columnValues[R], len(cols))
		for i, c := range cols {
			vals[i] = c.make(n)
		}
		return &tableRows[R]{names: names, cols: vals}
	}}
}

var (
	policyHookChangesTable = newTable(record.Table(record.KindPolicyHookChange),
		col("id", func(r *record.PolicyHookChange) string { return r.ID }),
		col("hook_id", func(r *record.PolicyHookChange) string { return r.HookID }),
		col("change", func(r *record.PolicyHookChange) string { return r.Change }),
		col("actor", func(r *record.PolicyHookChange) string { return r.Actor }),
		col("command", func(r *record.PolicyHookChange) string { return r.Command }),
		col("before", func(r *record.PolicyHookChange) string { return r.Before }),
		col("after", func(r *record.PolicyHookChange) string { return r.After }),
		col("at", func(r *record.PolicyHookChange) time.Time { return r.At.UTC() }),
		col("at_us", func(r *record.PolicyHookChange) int64 { return r.At.UnixMicro() }),
	)
	commandsTable = newTable(record.Table(record.KindCommand),
		col("id", func(r *record.Command) string { return r.ID }),
		col("command_id", func(r *record.Command) string { return r.CommandID }),
		col("subject", func(r *record.Command) string { return r.Subject }),
		col("group_id", func(r *record.Command) string { return r.GroupID }),
		col("actor", func(r *record.Command) string { return r.Actor }),
		col("outcome", func(r *record.Command) string { return r.Outcome }),
		col("error_code", func(r *record.Command) string { return r.ErrorCode }),
		col("error_message", func(r *record.Command) string { return r.ErrorMsg }),
		col("version", func(r *record.Command) uint64 { return r.Version }),
		col("latency_us", func(r *record.Command) int64 { return r.LatencyUS }),
		col("received_at", func(r *record.Command) time.Time { return r.ReceivedAt.UTC() }),
		col("received_at_us", func(r *record.Command) int64 { return r.ReceivedAt.UnixMicro() }),
		col("payload_sha256", func(r *record.Command) string { return r.PayloadHash }),
		col("payload_size", func(r *record.Command) uint32 { return uint32(r.PayloadSize) }),
	)
	eventsTable = newTable(record.Table(record.KindEvent),
		col("id", func(r *record.Event) string { return r.ID }),
		col("type", func(r *record.Event) string { return r.Type }),
		col("schema_version", func(r *record.Event) uint16 { return uint16(r.SchemaVersion) }),
		col("group_id", func(r *record.Event) string { return r.GroupID }),
		col("version", func(r *record.Event) uint64 { return r.Version }),
		col("stream_seq", func(r *record.Event) uint64 { return r.StreamSeq }),
		col("command_id", func(r *record.Event) string { return r.CommandID }),
		col("correlation_id", func(r *record.Event) string { return r.CorrelationID }),
		col("actor", func(r *record.Event) string { return r.Actor }),
		col("occurred_at", func(r *record.Event) time.Time { return r.OccurredAt.UTC() }),
		col("occurred_at_us", func(r *record.Event) int64 { return r.OccurredAt.UnixMicro() }),
		col("data", func(r *record.Event) string { return r.Data }),
	)
	deliveryAttemptsTable = newTable(record.Table(record.KindDeliveryAttempt),
		col("id", func(r *record.DeliveryAttempt) string { return r.ID }),
		col("event_id", func(r *record.DeliveryAttempt) string { return r.EventID }),
		col("event_type", func(r *record.DeliveryAttempt) string { return r.EventType }),
		col("group_id", func(r *record.DeliveryAttempt) string { return r.GroupID }),
		col("endpoint_id", func(r *record.DeliveryAttempt) string { return r.EndpointID }),
		col("url", func(r *record.DeliveryAttempt) string { return r.URL }),
		col("format", func(r *record.DeliveryAttempt) string { return r.Format }),
		col("attempt", func(r *record.DeliveryAttempt) uint32 { return uint32(r.Attempt) }),
		col("trigger", func(r *record.DeliveryAttempt) string { return r.Trigger }),
		col("request_header_names", func(r *record.DeliveryAttempt) []string { return headerNames(r.RequestHeaders) }),
		col("request_header_values", func(r *record.DeliveryAttempt) []string { return headerValues(r.RequestHeaders) }),
		col("request_size", func(r *record.DeliveryAttempt) uint32 { return uint32(r.RequestSize) }),
		col("request_sha256", func(r *record.DeliveryAttempt) string { return r.RequestHash }),
		col("response_status", func(r *record.DeliveryAttempt) uint16 { return uint16(r.ResponseStatus) }),
		col("response_header_names", func(r *record.DeliveryAttempt) []string { return headerNames(r.ResponseHeaders) }),
		col("response_header_values", func(r *record.DeliveryAttempt) []string { return headerValues(r.ResponseHeaders) }),
		col("response_body", func(r *record.DeliveryAttempt) string {
			return record.TruncateUTF8(r.ResponseBody, record.MaxResponseBody)
		}),
		col("success", func(r *record.DeliveryAttempt) uint8 { return boolU8(r.Success) }),
		col("failure_class", func(r *record.DeliveryAttempt) string { return r.FailureClass }),
		col("failure_message", func(r *record.DeliveryAttempt) string { return r.FailureMsg }),
		col("latency_us", func(r *record.DeliveryAttempt) int64 { return r.LatencyUS }),
		col("started_at", func(r *record.DeliveryAttempt) time.Time { return r.StartedAt.UTC() }),
		col("started_at_us", func(r *record.DeliveryAttempt) int64 { return r.StartedAt.UnixMicro() }),
		col("next_attempt_at", func(r *record.DeliveryAttempt) *time.Time {
			if r.NextAttemptAt == nil {
				return nil
			}
			t := r.NextAttemptAt.UTC()
			return &t
		}),
		col("state", func(r *record.DeliveryAttempt) string { return r.State }),
		col("repeat", func(r *record.DeliveryAttempt) uint8 { return boolU8(r.Repeat) }),
	)
	endpointChangesTable = newTable(record.Table(record.KindEndpointChange),
		col("id", func(r *record.EndpointChange) string { return r.ID }),
		col("endpoint_id", func(r *record.EndpointChange) string { return r.EndpointID }),
		col("change", func(r *record.EndpointChange) string { return r.Change }),
		col("actor", func(r *record.EndpointChange) string { return r.Actor }),
		col("automatic", func(r *record.EndpointChange) uint8 { return boolU8(r.Automatic) }),
		col("reason", func(r *record.EndpointChange) string { return r.Reason }),
		col("group_id", func(r *record.EndpointChange) string { return r.GroupID }),
		col("endpoint", func(r *record.EndpointChange) string { return r.Endpoint }),
		col("at", func(r *record.EndpointChange) time.Time { return r.At.UTC() }),
		col("at_us", func(r *record.EndpointChange) int64 { return r.At.UnixMicro() }),
	)
	policyDecisionsTable = newTable(record.Table(record.KindPolicyDecision),
		col("id", func(r *record.PolicyDecision) string { return r.ID }),
		col("decided_at", func(r *record.PolicyDecision) time.Time { return r.DecidedAt.UTC() }),
		col("decided_at_us", func(r *record.PolicyDecision) int64 { return r.DecidedAt.UnixMicro() }),
		col("hook_id", func(r *record.PolicyDecision) string { return r.HookID }),
		col("command", func(r *record.PolicyDecision) string { return r.Command }),
		col("command_id", func(r *record.PolicyDecision) string { return r.CommandID }),
		col("command_audit_id", func(r *record.PolicyDecision) string { return r.CommandAuditID }),
		col("group_id", func(r *record.PolicyDecision) string { return r.GroupID }),
		col("actor", func(r *record.PolicyDecision) string { return r.Actor }),
		col("request_id", func(r *record.PolicyDecision) string { return r.RequestID }),
		col("format", func(r *record.PolicyDecision) string { return r.Format }),
		col("outcome", func(r *record.PolicyDecision) string { return r.Outcome }),
		col("failure_class", func(r *record.PolicyDecision) string { return r.FailureClass }),
		col("on_failure", func(r *record.PolicyDecision) string { return r.OnFailure }),
		col("latency_ms", func(r *record.PolicyDecision) float64 { return r.LatencyMS }),
		col("response_status", func(r *record.PolicyDecision) uint16 { return uint16(r.ResponseStatus) }),
		col("response_body", func(r *record.PolicyDecision) string {
			return record.TruncateUTF8(r.ResponseBody, record.MaxPolicyResponseBody)
		}),
		col("code", func(r *record.PolicyDecision) string { return r.Code }),
		col("message", func(r *record.PolicyDecision) string { return r.Message }),
		col("override", func(r *record.PolicyDecision) string { return r.Override }),
	)
	allTables = []*table{commandsTable, eventsTable, deliveryAttemptsTable, endpointChangesTable, policyDecisionsTable, policyHookChangesTable}
)

// tableOf maps a record kind to its table.
var tableOf = map[record.Kind]*table{
	record.KindPolicyHookChange: policyHookChangesTable,

	record.KindCommand:         commandsTable,
	record.KindEvent:           eventsTable,
	record.KindDeliveryAttempt: deliveryAttemptsTable,
	record.KindEndpointChange:  endpointChangesTable,
	record.KindPolicyDecision:  policyDecisionsTable,
}

// headerArrays returns h as parallel name/value arrays sorted by name, the
// shape the tables store headers in (18.16 has no Map), secrets redacted.
func headerArrays(h map[string]string) (names, values []string) {
	names = headerNames(h)
	values = make([]string, len(names))
	for i, k := range names {
		values[i] = record.StoredHeaderValue(k, h[k])
	}
	return names, values
}

// headerNames are h's names sorted; headerValues their stored values in
// that order (headerArrays split per column).
func headerNames(h map[string]string) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func headerValues(h map[string]string) []string {
	_, values := headerArrays(h)
	return values
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// quoteIdent quotes a database name for ClickHouse.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
