package audit

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// seedQueries writes a known set of records (through the real sink) and
// returns the reader on them.
func seedQueries(t *testing.T) (Reader, ClickHouseConfig) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	pub := StartPublisher(t, ns.JS)
	StartSink(t, ns.JS, SinkConfig{ClickHouse: ch})

	now := time.Now().UTC().Truncate(time.Second)
	cmd1 := SampleCommand(1, "A")
	cmd1.ReceivedAt = now.Add(-10 * time.Minute)
	cmd2 := SampleCommand(2, "A")
	cmd2.ReceivedAt, cmd2.Outcome, cmd2.ErrorCode, cmd2.Actor = now.Add(-9*time.Minute), "rejected", "forbidden", "mallory"
	change := SampleChange(1, "ep1")
	change.Change, change.At = "created", now.Add(-11*time.Minute)
	attempt := func(ep, ev string, n int, ok bool, state string, latency int64, at time.Time) DeliveryAttempt {
		a := SampleAttempt(0, ep)
		a.ID, a.EventID, a.Attempt, a.Success, a.State, a.LatencyUS, a.StartedAt = fmt.Sprintf("%s-%s-%d", ep, ev, n), ev, n, ok, state, latency, at
		if ok {
			a.FailureClass, a.FailureMsg, a.NextAttemptAt = "", "", nil
		}
		if state == "exhausted" {
			a.NextAttemptAt = nil
		}
		return a
	}
	records := []Record{cmd1, cmd2, change,
		attempt("ep1", "ev-1", 1, false, "retrying", 2000, now.Add(-8*time.Minute)),
		attempt("ep1", "ev-1", 2, true, "succeeded", 1000, now.Add(-7*time.Minute)),
		attempt("ep1", "ev-2", 1, false, "retrying", 4000, now.Add(-6*time.Minute)),
		attempt("ep1", "ev-2", 2, false, "exhausted", 3000, now.Add(-5*time.Minute)),
		attempt("ep2", "ev-1", 1, false, "retrying", 5000, now.Add(-4*time.Minute)),
		attempt("ep1", "ev-0", 1, true, "succeeded", 9000, now.Add(-2*time.Hour)), // outside the last hour
	}
	for _, e := range []Event{{ID: "e1", Type: "group.created", SchemaVersion: 1, GroupID: "A", Version: 1, StreamSeq: 1, CommandID: "c1", Actor: "owner", OccurredAt: now.Add(-10 * time.Minute), Data: "{}"},
		{ID: "e2", Type: "member.invited", SchemaVersion: 1, GroupID: "A", Version: 2, StreamSeq: 2, CommandID: "c2", Actor: "owner", OccurredAt: now.Add(-9 * time.Minute), Data: "{}"}} {
		records = append(records, e)
	}
	for _, r := range records {
		MustRecord(t, pub, r)
		MustRecord(t, pub, r) // twice: the reads must show it once
	}
	FlushPublisher(t, pub)
	WaitRows(t, conn, ch.Database, "delivery_attempts", 6, 10*time.Second)
	WaitRows(t, conn, ch.Database, "commands", 2, 10*time.Second)
	WaitRows(t, conn, ch.Database, "events", 2, 10*time.Second)
	WaitRows(t, conn, ch.Database, "endpoint_changes", 1, 10*time.Second)
	return Reader{Conn: conn, DB: ch.Database}, ch
}

// documentedQueries extracts the named SQL blocks of docs/audit.md.
func documentedQueries(t *testing.T) map[string]string {
	b, err := os.ReadFile("../../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```sql\n-- name: (\\w+)\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func queryStrings(ctx context.Context, conn driver.Conn, q string) ([][]string, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		cols := rows.ColumnTypes()
		vals := make([]any, len(cols))
		for i, c := range cols {
			vals[i] = reflect.New(c.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		line := make([]string, len(vals))
		for i, v := range vals {
			e := reflect.ValueOf(v).Elem()
			if e.Kind() == reflect.Pointer && !e.IsNil() {
				e = e.Elem()
			}
			if tm, ok := e.Interface().(time.Time); ok {
				line[i] = tm.UTC().Format(time.DateTime)
				continue
			}
			line[i] = fmt.Sprint(e.Interface())
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

// TestDocumentedQueries runs every SQL query of docs/audit.md against known
// rows and checks what it returns.
func TestDocumentedQueries(t *testing.T) {
	r, ch := seedQueries(t)
	qs := documentedQueries(t)
	tests := []struct {
		name string
		cols []int // which columns to compare
		want [][]string
	}{
		{name: "group_history", cols: []int{1, 2, 3}, want: [][]string{
			{"delivery", "ep1 member.invited", "system"}, // 2h ago
			{"endpoint", "ep1 created", "admin"},
			{"command", "roster.cmd.member.invite", "owner"},
			{"event", "group.created", "owner"},
			{"command", "roster.cmd.member.invite", "mallory"},
			{"event", "member.invited", "owner"},
			{"delivery", "ep1 member.invited", "system"},
			{"delivery", "ep1 member.invited", "system"},
			{"delivery", "ep1 member.invited", "system"},
			{"delivery", "ep1 member.invited", "system"},
			{"delivery", "ep2 member.invited", "system"},
		}},
		{name: "event_attempts", cols: []int{0, 1, 4, 5, 7}, want: [][]string{
			{"ep1", "1", "200", "invalid_response", "retrying"},
			{"ep1", "2", "200", "", "succeeded"},
			{"ep2", "1", "200", "invalid_response", "retrying"},
		}},
		{name: "endpoint_health_last_hour", cols: []int{0, 1, 2, 3, 4}, want: [][]string{
			{"ep2", "1", "1", "1", "5"},
			{"ep1", "4", "3", "0.75", "4"},
		}},
		{name: "pending_or_exhausted", cols: []int{0, 1, 3, 4, 5}, want: [][]string{
			{"ep1", "ev-2", "exhausted", "2", "invalid_response"},
			{"ep2", "ev-1", "retrying", "1", "invalid_response"},
		}},
	}
	if len(qs) != len(tests) {
		t.Errorf("docs/audit.md has %d named queries, the test knows %d", len(qs), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, ok := qs[tc.name]
			if !ok {
				t.Fatalf("docs/audit.md has no query %q", tc.name)
			}
			q = strings.ReplaceAll(q, "roster.", ident(ch.Database)+".")
			rows, err := queryStrings(context.Background(), r.Conn, q)
			if err != nil {
				t.Fatal(err)
			}
			var have [][]string
			for _, row := range rows {
				var sel []string
				for _, c := range tc.cols {
					sel = append(sel, row[c])
				}
				have = append(have, sel)
			}
			if !reflect.DeepEqual(have, tc.want) {
				t.Errorf("want\n%q\nhave\n%q", tc.want, have)
			}
		})
	}

	t.Run("reader", func(t *testing.T) {
		ctx := context.Background()
		cmds, err := r.Commands(ctx, Filter{GroupID: "A", Status: "rejected"})
		if err != nil || len(cmds) != 1 || cmds[0].Actor != "mallory" || cmds[0].ErrorCode != "forbidden" {
			t.Errorf("rejected commands of A: have %+v, %v", cmds, err)
		}
		atts, err := r.Deliveries(ctx, Filter{EventID: "ev-1"})
		if err != nil || len(atts) != 3 {
			t.Fatalf("attempts of ev-1: want 3, have %d, %v", len(atts), err)
		}
		if atts[0].RequestHeaders["webhook-signature"] != RedactedValue || atts[0].NextAttemptAt == nil {
			t.Errorf("attempt read back: %+v", atts[0])
		}
		exhausted, err := r.Deliveries(ctx, Filter{EndpointID: "ep1", Status: "exhausted", Class: "invalid_response"})
		if err != nil || len(exhausted) != 1 || exhausted[0].EventID != "ev-2" || exhausted[0].NextAttemptAt != nil {
			t.Errorf("exhausted on ep1: have %+v, %v", exhausted, err)
		}
		evs, err := r.Events(ctx, Filter{GroupID: "A", Since: time.Now().Add(-time.Hour)})
		if err != nil || len(evs) != 2 || evs[0].Version != 1 {
			t.Errorf("events of A: have %+v, %v", evs, err)
		}
		chs, err := r.EndpointChanges(ctx, Filter{EndpointID: "ep1"})
		if err != nil || len(chs) != 1 || chs[0].Change != "created" {
			t.Errorf("changes of ep1: have %+v, %v", chs, err)
		}
	})
}
