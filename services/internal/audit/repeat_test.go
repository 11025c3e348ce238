package audit

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestRepeatedAttemptsAndFinalState writes, through the real publisher and
// sink, the rows a dispatcher crash leaves: a request recorded by the
// dispatcher that died before acknowledging it, and the same attempt sent
// again by the one that took over (marked repeat). Every request stays a
// row; the final-state query tells each delivery's state from its latest
// row, whatever its attempts, repeats and redeliveries left.
func TestRepeatedAttemptsAndFinalState(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	pub := StartPublisher(t, ns.JS)
	StartSink(t, ns.JS, SinkConfig{ClickHouse: ch})

	t0 := time.Now().UTC().Truncate(time.Second).Add(-30 * time.Minute)
	row := func(id, ev string, n int, ok, repeat bool, state string, at time.Duration) DeliveryAttempt {
		a := SampleAttempt(0, "ep-r")
		a.ID, a.EventID, a.Attempt, a.Success, a.Repeat, a.State, a.StartedAt = id, ev, n, ok, repeat, state, t0.Add(at)
		a.NextAttemptAt = nil
		if ok {
			a.FailureClass, a.FailureMsg = "", ""
		}
		return a
	}
	records := []DeliveryAttempt{
		// A sent and recorded it, died before the ack; B sent it again.
		row("a-ok", "ev-a", 1, true, false, "succeeded", 0),
		row("a-ok-rep", "ev-a", 1, true, true, "succeeded", 7*time.Second),
		// A's first attempt failed and was recorded; B repeated it (fails
		// again), then attempt 2 succeeded.
		row("b-1", "ev-b", 1, false, false, "retrying", time.Second),
		row("b-1-rep", "ev-b", 1, false, true, "retrying", 8*time.Second),
		row("b-2", "ev-b", 2, true, false, "succeeded", 9*time.Second),
		// Exhausted, nothing since.
		row("c-1", "ev-c", 1, false, false, "retrying", 2*time.Second),
		row("c-2", "ev-c", 2, false, false, "exhausted", 3*time.Second),
		// Exhausted, then redelivered: a new series that succeeded.
		row("d-1", "ev-d", 1, false, false, "exhausted", 4*time.Second),
		row("d-r1", "ev-d", 1, true, false, "succeeded", time.Minute),
		// The repeat of an attempt whose first request was never recorded
		// (its dispatcher died mid-request) is still the delivery's state.
		row("e-1-rep", "ev-e", 1, false, true, "retrying", 10*time.Second),
	}
	for _, r := range records {
		MustRecord(t, pub, r)
		MustRecord(t, pub, r) // a publish repeated for the same request is one row
	}
	FlushPublisher(t, pub)
	WaitRows(t, conn, ch.Database, "delivery_attempts", uint64(len(records)), 10*time.Second)
	rd := Reader{Conn: conn, DB: ch.Database}
	ctx := context.Background()

	all, err := rd.Deliveries(ctx, Filter{EndpointID: "ep-r"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(records) {
		t.Fatalf("%d rows, want %d: every HTTP request is a row", len(all), len(records))
	}
	for _, a := range all {
		wantRepeat := strings.HasSuffix(a.ID, "-rep")
		if a.Repeat != wantRepeat {
			t.Errorf("row %s: repeat %v, want %v", a.ID, a.Repeat, wantRepeat)
		}
	}

	final := func(f Filter) map[string]string {
		t.Helper()
		f.EndpointID, f.Final = "ep-r", true
		rows, err := rd.Deliveries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, a := range rows {
			if _, dup := out[a.EventID]; dup {
				t.Fatalf("final query: two rows for %s", a.EventID)
			}
			out[a.EventID] = a.ID + ":" + a.State
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want map[string]string
	}{
		{"every delivery", Filter{}, map[string]string{
			"ev-a": "a-ok-rep:succeeded", "ev-b": "b-2:succeeded", "ev-c": "c-2:exhausted",
			"ev-d": "d-r1:succeeded", "ev-e": "e-1-rep:retrying",
		}},
		{"succeeded", Filter{Status: "succeeded"}, map[string]string{
			"ev-a": "a-ok-rep:succeeded", "ev-b": "b-2:succeeded", "ev-d": "d-r1:succeeded",
		}},
		// ev-d's exhausted row is history: its redelivery succeeded.
		{"exhausted", Filter{Status: "exhausted"}, map[string]string{"ev-c": "c-2:exhausted"}},
		{"one event", Filter{EventID: "ev-b"}, map[string]string{"ev-b": "b-2:succeeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := final(tc.f)
			if len(have) != len(tc.want) {
				t.Fatalf("want %v, have %v", tc.want, have)
			}
			for k, v := range tc.want {
				if have[k] != v {
					t.Errorf("%s: want %s, have %s", k, v, have[k])
				}
			}
		})
	}
	// Without Final, the state filter matches rows: both exhausted ones.
	rows, err := rd.Deliveries(ctx, Filter{EndpointID: "ep-r", Status: "exhausted"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range rows {
		ids = append(ids, a.ID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "c-2,d-1" {
		t.Fatalf("exhausted rows %v, want c-2 and d-1", ids)
	}
}

// TestMigrationAddsRepeatToExistingTables: a database migrated before the
// repeat column existed gets it, old rows read repeat = false, and
// migrators racing on the ALTER all succeed.
func TestMigrationAddsRepeatToExistingTables(t *testing.T) {
	ch := NewTestClickHouse(t) // fully migrated
	conn := OpenTestClickHouse(t, ch)
	ctx := context.Background()
	// Back to the state of a deployment that predates the column (its
	// migration record goes too: every migrator below applies all files).
	for _, q := range []string{
		"ALTER TABLE delivery_attempts DROP COLUMN repeat",
		"DROP TABLE schema_migrations",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old := SampleAttempt(1, "ep-old")
	b, err := conn.PrepareBatch(ctx, "INSERT INTO delivery_attempts (id, event_id, endpoint_id, attempt, started_at, started_at_us, state)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(old.ID, old.EventID, old.EndpointID, uint32(1), old.StartedAt.UTC(), old.StartedAt.UnixMicro(), "succeeded"); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Migrate(ctx, ch)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
	}
	rows, err := Reader{Conn: conn, DB: ch.Database}.Deliveries(ctx, Filter{EndpointID: "ep-old"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Repeat {
		t.Fatalf("old rows %+v: want one, not a repeat", rows)
	}
}
