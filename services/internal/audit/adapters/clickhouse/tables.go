package clickhouse

import (
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// table is one ClickHouse table of the trail. Inserts name every column
// explicitly: ClickHouse 18.16 cannot append to a batch prepared with a
// bare "INSERT INTO t" (see docs/adr/0022).
type table struct {
	name    string
	columns []string
}

func (t *table) insert(db string) string {
	return "INSERT INTO " + quoteIdent(db) + "." + t.name + " (" + strings.Join(t.columns, ", ") + ")"
}

var (
	policyHookChangesTable = &table{name: record.Table(record.KindPolicyHookChange), columns: []string{
		"id", "hook_id", "change", "actor", "command", "before", "after", "at", "at_us",
	}}
	commandsTable = &table{name: record.Table(record.KindCommand), columns: []string{
		"id", "command_id", "subject", "group_id", "actor", "outcome", "error_code", "error_message",
		"version", "latency_us", "received_at", "received_at_us", "payload_sha256", "payload_size",
	}}
	eventsTable = &table{name: record.Table(record.KindEvent), columns: []string{
		"id", "type", "schema_version", "group_id", "version", "stream_seq", "command_id",
		"correlation_id", "actor", "occurred_at", "occurred_at_us", "data",
	}}
	deliveryAttemptsTable = &table{name: record.Table(record.KindDeliveryAttempt), columns: []string{
		"id", "event_id", "event_type", "group_id", "endpoint_id", "url", "format", "attempt", "trigger",
		"request_header_names", "request_header_values", "request_size", "request_sha256",
		"response_status", "response_header_names", "response_header_values", "response_body",
		"success", "failure_class", "failure_message", "latency_us", "started_at", "started_at_us",
		"next_attempt_at", "state", "repeat",
	}}
	endpointChangesTable = &table{name: record.Table(record.KindEndpointChange), columns: []string{
		"id", "endpoint_id", "change", "actor", "automatic", "reason", "group_id", "endpoint", "at", "at_us",
	}}
	policyDecisionsTable = &table{name: record.Table(record.KindPolicyDecision), columns: []string{
		"id", "decided_at", "decided_at_us", "hook_id", "command", "command_id", "command_audit_id", "group_id", "actor",
		"request_id", "format", "outcome", "failure_class", "on_failure", "latency_ms", "response_status",
		"response_body", "code", "message", "override",
	}}
	allTables = []*table{commandsTable, eventsTable, deliveryAttemptsTable, endpointChangesTable, policyDecisionsTable, policyHookChangesTable}
)

// row is one line for one table.
type row struct {
	table  *table
	id     string
	values []any
}

// tableOf maps a record kind to its table.
var tableOf = map[record.Kind]*table{
	record.KindPolicyHookChange: policyHookChangesTable,

	record.KindCommand:         commandsTable,
	record.KindEvent:           eventsTable,
	record.KindDeliveryAttempt: deliveryAttemptsTable,
	record.KindEndpointChange:  endpointChangesTable,
	record.KindPolicyDecision:  policyDecisionsTable,
}

// toRow converts a validated record into its table's row; values have the
// exact Go types of the columns.
func toRow(r record.Record) (row, error) {
	switch r := r.(type) {
	case record.PolicyHookChange:
		return row{table: policyHookChangesTable, id: r.ID, values: []any{
			r.ID, r.HookID, r.Change, r.Actor, r.Command, r.Before, r.After, r.At.UTC(), r.At.UnixMicro(),
		}}, nil
	case record.Command:
		return row{table: commandsTable, id: r.ID, values: []any{
			r.ID, r.CommandID, r.Subject, r.GroupID, r.Actor, r.Outcome, r.ErrorCode, r.ErrorMsg,
			r.Version, r.LatencyUS, r.ReceivedAt.UTC(), r.ReceivedAt.UnixMicro(), r.PayloadHash, uint32(r.PayloadSize),
		}}, nil
	case record.Event:
		return row{table: eventsTable, id: r.ID, values: []any{
			r.ID, r.Type, uint16(r.SchemaVersion), r.GroupID, r.Version, r.StreamSeq, r.CommandID,
			r.CorrelationID, r.Actor, r.OccurredAt.UTC(), r.OccurredAt.UnixMicro(), r.Data,
		}}, nil
	case record.DeliveryAttempt:
		reqN, reqV := headerArrays(r.RequestHeaders)
		respN, respV := headerArrays(r.ResponseHeaders)
		var next *time.Time
		if r.NextAttemptAt != nil {
			t := r.NextAttemptAt.UTC()
			next = &t
		}
		return row{table: deliveryAttemptsTable, id: r.ID, values: []any{
			r.ID, r.EventID, r.EventType, r.GroupID, r.EndpointID, r.URL, r.Format, uint32(r.Attempt), r.Trigger,
			reqN, reqV, uint32(r.RequestSize), r.RequestHash,
			uint16(r.ResponseStatus), respN, respV, record.TruncateUTF8(r.ResponseBody, record.MaxResponseBody),
			boolU8(r.Success), r.FailureClass, r.FailureMsg, r.LatencyUS, r.StartedAt.UTC(), r.StartedAt.UnixMicro(),
			next, r.State, boolU8(r.Repeat),
		}}, nil
	case record.EndpointChange:
		return row{table: endpointChangesTable, id: r.ID, values: []any{
			r.ID, r.EndpointID, r.Change, r.Actor, boolU8(r.Automatic), r.Reason, r.GroupID, r.Endpoint,
			r.At.UTC(), r.At.UnixMicro(),
		}}, nil
	case record.PolicyDecision:
		return row{table: policyDecisionsTable, id: r.ID, values: []any{
			r.ID, r.DecidedAt.UTC(), r.DecidedAt.UnixMicro(), r.HookID, r.Command, r.CommandID, r.CommandAuditID, r.GroupID, r.Actor,
			r.RequestID, r.Format, r.Outcome, r.FailureClass, r.OnFailure, r.LatencyMS, uint16(r.ResponseStatus),
			record.TruncateUTF8(r.ResponseBody, record.MaxPolicyResponseBody), r.Code, r.Message, r.Override,
		}}, nil
	}
	return row{}, record.Malformed("unknown record type %T", r)
}

// headerArrays returns h as parallel name/value arrays sorted by name, the
// shape the tables store headers in (18.16 has no Map), secrets redacted.
func headerArrays(h map[string]string) (names, values []string) {
	names = make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	values = make([]string, len(names))
	for i, k := range names {
		values[i] = record.StoredHeaderValue(k, h[k])
	}
	return names, values
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
