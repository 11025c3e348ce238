// Package storetest is the contract of the audit trail's record store
// (app.RecordStore with its app.TrailReader), in the style of Watermill's
// pubsub/tests: one Run that every adapter passes, the real ClickHouse one
// included (adapters/clickhouse) and the in-memory one (adapters/memory).
//
// What the sink relies on, and so what is checked: every record of a batch
// is stored; inserting the same batch again (a redelivery) leaves one copy
// per record id; an empty batch is a no-op; large batches go in one call;
// concurrent inserts are safe; a record the store can never hold is refused
// with app.ErrRefused. What the queries rely on: each answer's order and
// filters, each delivery's final state, and what the tables keep (times to
// the microsecond, next_attempt_at to the second, secrets redacted,
// response bodies cut at record.MaxResponseBody).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Store is what an adapter under test implements.
type Store interface {
	app.RecordStore
	app.TrailReader
}

// Factory returns an empty store of the test's own; it cleans up with
// t.Cleanup.
type Factory func(t *testing.T) Store

type testCase struct {
	name string
	fn   func(t *testing.T, s Store)
}

var cases = []testCase{
	{"InsertEveryTable", testInsertEveryTable},
	{"ReinsertIsIdempotent", testReinsertIsIdempotent},
	{"EmptyBatch", testEmptyBatch},
	{"LargeBatch", testLargeBatch},
	{"ConcurrentInserts", testConcurrentInserts},
	{"Refused", testRefused},
	{"Ordering", testOrdering},
	{"Filters", testFilters},
	{"Limit", testLimit},
	{"DeliveriesFinal", testDeliveriesFinal},
	{"WhatIsKept", testWhatIsKept},
	{"PolicyDecisions", testPolicyDecisions},
}

// Run runs every case against a fresh store from factory, in parallel.
func Run(t *testing.T, factory Factory) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, factory(t))
		})
	}
}

// t0 is a fixed instant with sub-microsecond digits the stores drop.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Sample records: valid, unique per i, and exactly as stored (times to the
// microsecond, next attempt to the second, no secret headers).

func command(i int, group string, at time.Time) record.Command {
	return record.Command{ID: fmt.Sprintf("cmd-%s-%05d", group, i), CommandID: fmt.Sprintf("c-%d", i), Subject: "roster.cmd.invite",
		GroupID: group, Actor: "owner", Outcome: record.OutcomeAccepted, Version: uint64(i + 1), LatencyUS: 120,
		ReceivedAt: at.Truncate(time.Microsecond), PayloadHash: strings.Repeat("a", 64), PayloadSize: 42}
}

func event(i int, group string, at time.Time) record.Event {
	return record.Event{ID: fmt.Sprintf("ev-%s-%05d", group, i), Type: "member.invited", SchemaVersion: 1, GroupID: group,
		Version: uint64(i + 1), StreamSeq: uint64(i + 1), CommandID: fmt.Sprintf("c-%d", i), CorrelationID: "corr", Actor: "owner",
		OccurredAt: at.Truncate(time.Microsecond), Data: `{"user_ids":["u"]}`}
}

func attempt(i int, endpoint string, at time.Time) record.DeliveryAttempt {
	next := at.Add(time.Minute).Truncate(time.Second)
	return record.DeliveryAttempt{ID: fmt.Sprintf("att-%s-%05d", endpoint, i), EventID: fmt.Sprintf("ev-%d", i), EventType: "member.invited",
		GroupID: "G", EndpointID: endpoint, URL: "https://example.test/hook", Format: "standard", Attempt: 1, Trigger: "scheduled",
		RequestHeaders: map[string]string{"Content-Type": "application/json"}, RequestSize: 100, RequestHash: strings.Repeat("b", 64),
		ResponseStatus: 500, ResponseHeaders: map[string]string{"Server": "x"}, ResponseBody: "oops", FailureClass: "http",
		FailureMsg: "500", LatencyUS: 900, StartedAt: at.Truncate(time.Microsecond), NextAttemptAt: &next, State: "retrying"}
}

func change(i int, endpoint string, at time.Time) record.EndpointChange {
	return record.EndpointChange{ID: fmt.Sprintf("chg-%s-%05d", endpoint, i), EndpointID: endpoint, Change: "updated", Actor: "admin",
		GroupID: "G", Endpoint: `{"url":"https://example.test/hook"}`, At: at.Truncate(time.Microsecond)}
}

func mustInsert(t *testing.T, s Store, batch ...record.Record) {
	t.Helper()
	if err := s.Insert(ctx(t), batch); err != nil {
		t.Fatalf("Insert of %d records: %v", len(batch), err)
	}
}

func check[T any](t *testing.T, what string, have []T, err error, want []T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(want) == 0 && len(have) == 0 {
		return
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("%s:\nwant %+v\nhave %+v", what, want, have)
	}
}

func ids[T record.Record](rows []T) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.AuditID()
	}
	return out
}

func checkIDs[T record.Record](t *testing.T, what string, have []T, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if h := ids(have); !reflect.DeepEqual(h, want) && (len(h) != 0 || len(want) != 0) {
		t.Fatalf("%s: want ids %v, have %v", what, want, h)
	}
}

func testInsertEveryTable(t *testing.T, s Store) {
	c, e, a, ch := command(1, "A", t0), event(1, "A", t0), attempt(1, "ep1", t0), change(1, "ep1", t0)
	mustInsert(t, s, c, e, a, ch)
	cmds, err := s.Commands(ctx(t), app.Filter{})
	check(t, "commands", cmds, err, []record.Command{c})
	evs, err := s.Events(ctx(t), app.Filter{})
	check(t, "events", evs, err, []record.Event{e})
	ds, err := s.Deliveries(ctx(t), app.Filter{})
	check(t, "deliveries", ds, err, []record.DeliveryAttempt{a})
	chs, err := s.EndpointChanges(ctx(t), app.Filter{})
	check(t, "endpoint changes", chs, err, []record.EndpointChange{ch})
}

func testReinsertIsIdempotent(t *testing.T, s Store) {
	batch := []record.Record{command(1, "A", t0), command(2, "A", t0.Add(time.Second)), event(1, "A", t0), attempt(1, "ep1", t0), change(1, "ep1", t0)}
	mustInsert(t, s, batch...)
	mustInsert(t, s, batch...)           // a redelivered batch
	mustInsert(t, s, batch[1], batch[3]) // part of it once more, in another batch
	mustInsert(t, s, batch[0], batch[0]) // a copy within one batch
	cmds, err := s.Commands(ctx(t), app.Filter{})
	checkIDs(t, "commands", cmds, err, "cmd-A-00002", "cmd-A-00001")
	evs, err := s.Events(ctx(t), app.Filter{})
	checkIDs(t, "events", evs, err, "ev-A-00001")
	ds, err := s.Deliveries(ctx(t), app.Filter{})
	checkIDs(t, "deliveries", ds, err, "att-ep1-00001")
	final, err := s.Deliveries(ctx(t), app.Filter{Final: true})
	checkIDs(t, "final deliveries", final, err, "att-ep1-00001")
	chs, err := s.EndpointChanges(ctx(t), app.Filter{})
	checkIDs(t, "endpoint changes", chs, err, "chg-ep1-00001")
}

func testEmptyBatch(t *testing.T, s Store) {
	if err := s.Insert(ctx(t), nil); err != nil {
		t.Fatalf("nil batch: %v", err)
	}
	if err := s.Insert(ctx(t), []record.Record{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	cmds, err := s.Commands(ctx(t), app.Filter{})
	checkIDs(t, "commands", cmds, err)
	ds, err := s.Deliveries(ctx(t), app.Filter{Final: true})
	checkIDs(t, "deliveries", ds, err)
}

func testLargeBatch(t *testing.T, s Store) {
	const n = 5000
	batch := make([]record.Record, 0, n+n/10)
	for i := range n {
		batch = append(batch, command(i, "L", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	for i := range n / 10 {
		batch = append(batch, event(i, "L", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	mustInsert(t, s, batch...)
	mustInsert(t, s, batch[:n/2]...) // half of it redelivered
	cmds, err := s.Commands(ctx(t), app.Filter{GroupID: "L", Limit: app.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != n {
		t.Fatalf("commands: want %d, have %d", n, len(cmds))
	}
	if cmds[0].ID != fmt.Sprintf("cmd-L-%05d", n-1) || cmds[n-1].ID != "cmd-L-00000" {
		t.Fatalf("commands: want newest first, have %s .. %s", cmds[0].ID, cmds[n-1].ID)
	}
	evs, err := s.Events(ctx(t), app.Filter{GroupID: "L", Limit: app.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n/10 {
		t.Fatalf("events: want %d, have %d", n/10, len(evs))
	}
}

func testConcurrentInserts(t *testing.T, s Store) {
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Every writer also repeats the record of writer 0.
				batch := []record.Record{command(w*each+i, "C", t0.Add(time.Duration(w*each+i)*time.Millisecond)), command(i, "C", t0.Add(time.Duration(i)*time.Millisecond))}
				if err := s.Insert(context.Background(), batch); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	cmds, err := s.Commands(ctx(t), app.Filter{GroupID: "C", Limit: app.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != writers*each {
		t.Fatalf("want %d commands, have %d", writers*each, len(cmds))
	}
}

// foreign is a Record type no table holds.
type foreign struct{}

func (foreign) AuditKind() record.Kind { return "foreign" }
func (foreign) AuditID() string        { return "foreign-1" }

func testRefused(t *testing.T, s Store) {
	err := s.Insert(ctx(t), []record.Record{foreign{}})
	if !errors.Is(err, app.ErrRefused) {
		t.Fatalf("a record no table holds: want app.ErrRefused, have %v", err)
	}
}

func testOrdering(t *testing.T, s Store) {
	// Inserted out of order; ties on time are broken as documented.
	mustInsert(t, s,
		command(3, "O", t0.Add(time.Second)), command(1, "O", t0), command(2, "O", t0.Add(time.Second)),
		event(2, "O", t0.Add(time.Second)), event(0, "O", t0), event(1, "O", t0), event(5, "B", t0),
		attempt(3, "ep", t0.Add(time.Second)), attempt(2, "ep", t0.Add(time.Second)), attempt(1, "ep", t0),
		change(2, "ep", t0.Add(time.Second)), change(1, "ep", t0.Add(time.Second)), change(0, "ep", t0),
	)
	cmds, err := s.Commands(ctx(t), app.Filter{})
	checkIDs(t, "commands: newest first, then id", cmds, err, "cmd-O-00002", "cmd-O-00003", "cmd-O-00001")
	evs, err := s.Events(ctx(t), app.Filter{})
	checkIDs(t, "events: oldest first, then group and version", evs, err, "ev-B-00005", "ev-O-00000", "ev-O-00001", "ev-O-00002")
	ds, err := s.Deliveries(ctx(t), app.Filter{})
	checkIDs(t, "deliveries: oldest first, then id", ds, err, "att-ep-00001", "att-ep-00002", "att-ep-00003")
	chs, err := s.EndpointChanges(ctx(t), app.Filter{})
	checkIDs(t, "endpoint changes: oldest first, then id", chs, err, "chg-ep-00000", "chg-ep-00001", "chg-ep-00002")
}

func testFilters(t *testing.T, s Store) {
	rejected := command(2, "A", t0.Add(time.Minute))
	rejected.Outcome, rejected.Actor, rejected.ErrorCode = record.OutcomeRejected, "mallory", "forbidden"
	other := event(1, "B", t0.Add(time.Minute))
	other.Type, other.Actor = "group.created", "admin"
	failed := attempt(2, "ep2", t0.Add(time.Minute))
	failed.FailureClass, failed.GroupID, failed.EventType = "timeout", "H", "group.created"
	paused := change(2, "ep2", t0.Add(time.Minute))
	paused.Change, paused.Actor, paused.GroupID = "paused", "system", "H"
	mustInsert(t, s, command(1, "A", t0), rejected, command(3, "B", t0.Add(2*time.Minute)),
		event(1, "A", t0), other, attempt(1, "ep1", t0), failed, change(1, "ep1", t0), paused)

	for _, tc := range []struct {
		name string
		f    app.Filter
		want []string
	}{
		{"group", app.Filter{GroupID: "A"}, []string{"cmd-A-00002", "cmd-A-00001"}},
		{"actor", app.Filter{Actor: "mallory"}, []string{"cmd-A-00002"}},
		{"outcome", app.Filter{Status: record.OutcomeAccepted}, []string{"cmd-B-00003", "cmd-A-00001"}},
		{"since is inclusive", app.Filter{Since: t0.Add(time.Minute).Truncate(time.Microsecond)}, []string{"cmd-B-00003", "cmd-A-00002"}},
		{"until is exclusive", app.Filter{Until: t0.Add(time.Minute).Truncate(time.Microsecond)}, []string{"cmd-A-00001"}},
	} {
		cmds, err := s.Commands(ctx(t), tc.f)
		checkIDs(t, "commands by "+tc.name, cmds, err, tc.want...)
	}
	evs, err := s.Events(ctx(t), app.Filter{EventType: "group.created"})
	checkIDs(t, "events by type", evs, err, "ev-B-00001")
	evs, err = s.Events(ctx(t), app.Filter{EventID: "ev-A-00001", GroupID: "A", Actor: "owner"})
	checkIDs(t, "events by id, group and actor", evs, err, "ev-A-00001")
	ds, err := s.Deliveries(ctx(t), app.Filter{Class: "timeout"})
	checkIDs(t, "deliveries by class", ds, err, "att-ep2-00002")
	ds, err = s.Deliveries(ctx(t), app.Filter{EndpointID: "ep1", EventID: "ev-1", Status: "retrying"})
	checkIDs(t, "deliveries by endpoint, event and state", ds, err, "att-ep1-00001")
	ds, err = s.Deliveries(ctx(t), app.Filter{GroupID: "H", EventType: "group.created"})
	checkIDs(t, "deliveries by group and type", ds, err, "att-ep2-00002")
	chs, err := s.EndpointChanges(ctx(t), app.Filter{Status: "paused", Actor: "system", GroupID: "H", EndpointID: "ep2"})
	checkIDs(t, "endpoint changes by change, actor, group, endpoint", chs, err, "chg-ep2-00002")
	chs, err = s.EndpointChanges(ctx(t), app.Filter{Since: t0.Add(time.Second)})
	checkIDs(t, "endpoint changes since", chs, err, "chg-ep2-00002")
}

func testLimit(t *testing.T, s Store) {
	var batch []record.Record
	for i := range app.DefaultLimit + 5 {
		batch = append(batch, change(i, "ep", t0.Add(time.Duration(i)*time.Second)))
	}
	mustInsert(t, s, batch...)
	chs, err := s.EndpointChanges(ctx(t), app.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != app.DefaultLimit {
		t.Fatalf("no limit: want the default %d rows, have %d", app.DefaultLimit, len(chs))
	}
	chs, err = s.EndpointChanges(ctx(t), app.Filter{Limit: 3})
	checkIDs(t, "limit 3", chs, err, "chg-ep-00000", "chg-ep-00001", "chg-ep-00002")
	chs, err = s.EndpointChanges(ctx(t), app.Filter{Limit: app.MaxLimit + 1})
	if err != nil || len(chs) != app.DefaultLimit+5 {
		t.Fatalf("limit above the maximum: want every row (%d), have %d (%v)", app.DefaultLimit+5, len(chs), err)
	}
}

func testDeliveriesFinal(t *testing.T, s Store) {
	row := func(id, endpoint, ev string, n int, repeat bool, state string, at time.Duration) record.DeliveryAttempt {
		a := attempt(0, endpoint, t0.Add(at))
		a.ID, a.EventID, a.Attempt, a.Repeat, a.State = id, ev, n, repeat, state
		if state == "succeeded" {
			a.Success, a.FailureClass, a.FailureMsg, a.NextAttemptAt = true, "", "", nil
		}
		return a
	}
	mustInsert(t, s,
		row("a-1", "ep", "ev-a", 1, false, "retrying", 0),
		row("a-2", "ep", "ev-a", 2, false, "succeeded", 2*time.Second),
		// A tie on time: the higher attempt is later, then the repeat.
		row("b-1", "ep", "ev-b", 1, false, "retrying", time.Second),
		row("b-2", "ep", "ev-b", 2, false, "exhausted", time.Second),
		row("c-1", "ep", "ev-c", 1, false, "retrying", 3*time.Second),
		row("c-1-rep", "ep", "ev-c", 1, true, "retrying", 3*time.Second),
		// Same event, another endpoint: its own delivery.
		row("a-other", "ep2", "ev-a", 1, false, "retrying", 4*time.Second),
	)
	final, err := s.Deliveries(ctx(t), app.Filter{Final: true})
	checkIDs(t, "final", final, err, "b-2", "a-2", "c-1-rep", "a-other")
	final, err = s.Deliveries(ctx(t), app.Filter{Final: true, Status: "retrying"})
	checkIDs(t, "final, retrying", final, err, "c-1-rep", "a-other")
	// The state filters the final row, not the rows before it.
	final, err = s.Deliveries(ctx(t), app.Filter{Final: true, EndpointID: "ep", Status: "retrying", Until: t0.Add(2 * time.Second)})
	checkIDs(t, "final within a time range, retrying", final, err, "a-1")
	all, err := s.Deliveries(ctx(t), app.Filter{Status: "retrying", EndpointID: "ep"})
	checkIDs(t, "every row, retrying", all, err, "a-1", "b-1", "c-1", "c-1-rep")
}

func testWhatIsKept(t *testing.T, s Store) {
	a := attempt(1, "ep", t0)
	a.StartedAt = t0 // nanoseconds: kept to the microsecond
	next := t0.Add(time.Minute)
	a.NextAttemptAt = &next // kept to the second
	a.RequestHeaders = map[string]string{"Authorization": "Bearer s", "webhook-signature": "v1,x", "X-Api-Key": "k", "Accept": "*/*"}
	a.ResponseHeaders = map[string]string{"Set-Cookie": "a=b", "Server": "x"}
	a.ResponseBody = "a" + strings.Repeat("é", record.MaxResponseBody) // cut, never mid-rune
	empty := attempt(2, "ep", t0.Add(time.Second))
	empty.RequestHeaders, empty.ResponseHeaders, empty.NextAttemptAt = map[string]string{}, nil, nil
	c := command(1, "K", t0)
	c.ReceivedAt = t0.In(time.FixedZone("X", 3600)) // read back in UTC
	mustInsert(t, s, a, empty, c)

	ds, err := s.Deliveries(ctx(t), app.Filter{EndpointID: "ep"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("want 2 deliveries, have %d", len(ds))
	}
	have := ds[0]
	if want := t0.Truncate(time.Microsecond); !have.StartedAt.Equal(want) || have.StartedAt.Location() != time.UTC {
		t.Errorf("started_at: want %s (UTC, microseconds), have %s", want, have.StartedAt)
	}
	if have.NextAttemptAt == nil || !have.NextAttemptAt.Equal(next.Truncate(time.Second)) {
		t.Errorf("next_attempt_at: want %s (seconds), have %v", next.Truncate(time.Second), have.NextAttemptAt)
	}
	wantReq := map[string]string{"Authorization": record.RedactedValue, "webhook-signature": record.RedactedValue, "X-Api-Key": record.RedactedValue, "Accept": "*/*"}
	if !reflect.DeepEqual(have.RequestHeaders, wantReq) {
		t.Errorf("request headers: want %v, have %v", wantReq, have.RequestHeaders)
	}
	if wantResp := map[string]string{"Set-Cookie": record.RedactedValue, "Server": "x"}; !reflect.DeepEqual(have.ResponseHeaders, wantResp) {
		t.Errorf("response headers: want %v, have %v", wantResp, have.ResponseHeaders)
	}
	if want := record.TruncateUTF8(a.ResponseBody, record.MaxResponseBody); have.ResponseBody != want || len(want) > record.MaxResponseBody {
		t.Errorf("response body: want %d bytes cut on a rune, have %d bytes", len(want), len(have.ResponseBody))
	}
	if e := ds[1]; e.RequestHeaders != nil || e.ResponseHeaders != nil || e.NextAttemptAt != nil {
		t.Errorf("no headers, no next attempt: want nil maps and pointer, have %v %v %v", e.RequestHeaders, e.ResponseHeaders, e.NextAttemptAt)
	}
	cmds, err := s.Commands(ctx(t), app.Filter{GroupID: "K"})
	if err != nil || len(cmds) != 1 {
		t.Fatalf("commands: want 1, have %d (%v)", len(cmds), err)
	}
	if have := cmds[0].ReceivedAt; have.Location() != time.UTC || !have.Equal(t0.Truncate(time.Microsecond)) {
		t.Errorf("received_at: want %s in UTC, have %s", t0.Truncate(time.Microsecond), have)
	}
}

func decision(i int, hook string, at time.Time) record.PolicyDecision {
	return record.PolicyDecision{ID: fmt.Sprintf("dec-%s-%05d", hook, i), DecidedAt: at.Truncate(time.Microsecond), HookID: hook,
		Command: "member.invite", CommandID: fmt.Sprintf("c-%d", i), GroupID: "G", Actor: "owner", RequestID: fmt.Sprintf("req-%d", i),
		Format: "standard", Outcome: "allowed", OnFailure: "deny", LatencyMS: 1.25, ResponseStatus: 200, ResponseBody: `{"allow":true}`}
}

// testPolicyDecisions: decisions read back whole, oldest first, filtered by
// hook, outcome, class, group, actor and time.
func testPolicyDecisions(t *testing.T, s Store) {
	failed := decision(2, "h1", t0.Add(time.Minute))
	failed.Outcome, failed.FailureClass, failed.ResponseStatus, failed.ResponseBody = "skipped", "timeout", 0, ""
	other := decision(1, "h2", t0.Add(time.Second))
	other.GroupID, other.Actor = "H", "mallory"
	mustInsert(t, s, failed, decision(1, "h1", t0), other)
	all, err := s.PolicyDecisions(ctx(t), app.Filter{})
	checkIDs(t, "policy decisions: oldest first", all, err, "dec-h1-00001", "dec-h2-00001", "dec-h1-00002")
	check(t, "a policy decision read back", all[:1], err, []record.PolicyDecision{decision(1, "h1", t0)})
	for _, tc := range []struct {
		name string
		f    app.Filter
		want []string
	}{
		{"hook", app.Filter{HookID: "h1"}, []string{"dec-h1-00001", "dec-h1-00002"}},
		{"outcome and class", app.Filter{Status: "skipped", Class: "timeout"}, []string{"dec-h1-00002"}},
		{"group and actor", app.Filter{GroupID: "H", Actor: "mallory"}, []string{"dec-h2-00001"}},
		{"since", app.Filter{Since: t0.Add(time.Second).Truncate(time.Microsecond)}, []string{"dec-h2-00001", "dec-h1-00002"}},
		{"limit", app.Filter{Limit: 1}, []string{"dec-h1-00001"}},
	} {
		ds, err := s.PolicyDecisions(ctx(t), tc.f)
		checkIDs(t, "policy decisions by "+tc.name, ds, err, tc.want...)
	}
}
