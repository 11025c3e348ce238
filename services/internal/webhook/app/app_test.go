package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/endpointmem"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

// These tests run the use cases on in-memory adapters and a fake clock, so
// schedules and waits are instant; the real-server tests of package
// webhook run the same use cases on NATS.

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// events is a fixed ROSTER_EVENTS.
type eventLog struct{ commits []app.Commit }

func (l *eventLog) LastSeq(context.Context) (uint64, error) {
	if len(l.commits) == 0 {
		return 0, nil
	}
	return l.commits[len(l.commits)-1].Seq, nil
}

func (l *eventLog) Commits(_ context.Context, r app.SeqRange, fn func(app.Commit) (bool, error)) error {
	for _, c := range l.commits {
		if c.Seq < r.FromSeq || c.Seq > r.LastSeq || (r.FromSeq == 0 && r.FromTime != nil && c.Time.Before(*r.FromTime)) {
			continue
		}
		if more, err := fn(c); err != nil || !more {
			return err
		}
	}
	return nil
}

// queue keeps enqueued jobs in memory.
type queue struct {
	mu   sync.Mutex
	jobs []app.OutJob
}

func (q *queue) Enqueue(_ context.Context, j app.OutJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *queue) Head(context.Context, string) (uint64, []byte, bool, error) {
	return 0, nil, false, nil
}

// states keeps attempt state in memory with compare-and-set.
type states struct {
	mu sync.Mutex
	m  map[string]stateRev
}

type stateRev struct {
	st  app.JobState
	rev uint64
}

func (s *states) Get(_ context.Context, key string) (app.JobState, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[key]
	return v.st, v.rev, nil
}

func (s *states) Put(_ context.Context, key string, st app.JobState, rev uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]stateRev{}
	}
	if s.m[key].rev != rev {
		return app.ErrStateConflict
	}
	s.m[key] = stateRev{st: st, rev: rev + 1}
	return nil
}

type recorder struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (r *recorder) Record(_ context.Context, rec audit.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recorder) RecordDurable(ctx context.Context, rec audit.Record) error {
	return r.Record(ctx, rec)
}

func (r *recorder) changes() []audit.EndpointChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.EndpointChange
	for _, rec := range r.recs {
		if c, ok := rec.(audit.EndpointChange); ok {
			out = append(out, c)
		}
	}
	return out
}

type alerts struct{ n atomic.Int32 }

func (a *alerts) EndpointPaused(context.Context, app.Alert) error { a.n.Add(1); return nil }

type env struct {
	app    *app.App
	store  *endpointmem.Store
	clock  *clockwork.FakeClock
	events *eventLog
	queue  *queue
	states *states
	audit  *recorder
}

func newEnv(t *testing.T, retry delivery.Policy) *env {
	t.Helper()
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	m, err := app.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: endpointmem.New(endpointtest.Keyring(t)), clock: clockwork.NewFakeClockAt(t0),
		events: &eventLog{commits: []app.Commit{{Seq: 7, Time: t0}}}, queue: &queue{}, states: &states{}, audit: &recorder{}}
	e.app, err = app.New(app.Config{
		Endpoints: e.store, View: e.store.View(), Events: e.events, Queue: e.queue, States: e.states,
		Sender: client, Audit: e.audit, Alerts: &alerts{}, Metrics: m, Log: zerolog.Nop(), Clock: e.clock,
		Rand: func() float64 { return 0.5 }, Retry: retry, Health: delivery.HealthPolicy{MaxConsecutiveFailures: 100},
		HoldDelay: 10 * time.Millisecond, MaxHoldDelay: time.Second, Concurrency: 4, RedeliverLimit: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEndpointLifecycle(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	created, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: "ep", URL: "https://hooks.example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Secret == "" || created.Endpoint.Secrets[0].Value != "" {
		t.Fatalf("create: want the secret once in Secret and none in the endpoint, have %+v", created)
	}
	if ep := created.Endpoint; !ep.CreatedAt.Equal(t0) || ep.StartSeq != 7 || ep.EventTypes[0] != "*" || ep.Format != endpoint.FormatStandard {
		t.Fatalf("create: %+v", ep)
	}
	if _, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: "ep", URL: "https://hooks.example.com/x"}); events.CodeOf(err) != events.CodeAlreadyExists {
		t.Fatalf("second create: want already_exists, have %v", err)
	}
	if _, err := e.app.GetEndpoint(ctx, app.IDRequest{ID: "nope"}); events.CodeOf(err) != events.CodeNotFound {
		t.Fatalf("get unknown: want not_found, have %v", err)
	}
	e.clock.Advance(time.Minute)
	paused, err := e.app.PauseEndpoint(ctx, app.IDRequest{Actor: "ops", ID: "ep", Reason: "maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	if p := paused.Endpoint; !p.Paused() || !p.PausedAt.Equal(t0.Add(time.Minute)) || p.PausedReason != "maintenance" {
		t.Fatalf("pause: %+v", p)
	}
	// Pausing again changes nothing and records nothing.
	if _, err := e.app.PauseEndpoint(ctx, app.IDRequest{Actor: "ops", ID: "ep"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	resumed, err := e.app.ResumeEndpoint(ctx, app.IDRequest{Actor: "ops", ID: "ep"})
	if err != nil {
		t.Fatal(err)
	}
	if r := resumed.Endpoint; r.Paused() || !r.ResumedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("resume: %+v", r)
	}
	if _, err := e.app.DeleteEndpoint(ctx, app.IDRequest{Actor: "ops", ID: "ep", Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, c := range e.audit.changes() {
		have = append(have, c.Change)
	}
	if want := "[created paused resumed deleted]"; fmt.Sprint(have) != want {
		t.Fatalf("audit changes: want %s, have %v", want, have)
	}
}

// A rotated-out secret keeps signing for the grace period, then stops.
func TestRotateSecretGrace(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	if _, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: "ep", URL: "https://hooks.example.com/x"}); err != nil {
		t.Fatal(err)
	}
	grace := endpoint.Duration(time.Hour)
	if _, err := e.app.RotateSecret(ctx, app.RotateRequest{Actor: "ops", ID: "ep", Grace: &grace}); err != nil {
		t.Fatal(err)
	}
	ep, _, err := e.store.Get(ctx, "ep")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ep.ActiveKeys(e.clock.Now())); n != 2 {
		t.Fatalf("during the grace period: %d signing keys, want 2", n)
	}
	e.clock.Advance(time.Hour)
	if n := len(ep.ActiveKeys(e.clock.Now())); n != 1 {
		t.Fatalf("after the grace period: %d signing keys, want 1", n)
	}
	bad := endpoint.Duration(-time.Second)
	if _, err := e.app.RotateSecret(ctx, app.RotateRequest{Actor: "ops", ID: "ep", Grace: &bad}); events.CodeOf(err) != events.CodeInvalidArgument {
		t.Fatalf("negative grace: want invalid_argument, have %v", err)
	}
}

// jobMsg is a delivery job handed over by an in-memory queue: it records
// how the use case settled it.
type jobMsg struct {
	body    []byte
	seq, nd uint64
	settled chan string
}

func newJobMsg(body []byte, nd uint64) *jobMsg {
	return &jobMsg{body: body, seq: 1, nd: nd, settled: make(chan string, 1)}
}

func (m *jobMsg) Subject() string                    { return "roster.webhook.delivery.ep.G" }
func (m *jobMsg) Data() []byte                       { return m.body }
func (m *jobMsg) Seq() uint64                        { return m.seq }
func (m *jobMsg) NumDelivered() uint64               { return m.nd }
func (m *jobMsg) Ack() error                         { m.settled <- "ack"; return nil }
func (m *jobMsg) DoubleAck(context.Context) error    { m.settled <- "ack"; return nil }
func (m *jobMsg) Nak() error                         { m.settled <- "nak"; return nil }
func (m *jobMsg) NakWithDelay(d time.Duration) error { m.settled <- "nak " + d.String(); return nil }
func (m *jobMsg) Term() error                        { m.settled <- "term"; return nil }

func (m *jobMsg) wait(t *testing.T) string {
	t.Helper()
	select {
	case s := <-m.settled:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not settled")
		return ""
	}
}

// fanOutOne creates an endpoint for url and fans out one commit to it.
func (e *env) fanOutOne(t *testing.T, req app.CreateRequest) []byte {
	t.Helper()
	ctx := context.Background()
	if _, err := e.app.CreateEndpoint(ctx, req); err != nil {
		t.Fatal(err)
	}
	ev := events.Event{ID: "0194a1b2-0000-7000-8000-000000000001", Type: events.Type("group.created"), GroupID: "G", Version: 1,
		SchemaVersion: 1, OccurredAt: t0, Actor: "o", Data: json.RawMessage(`{"name":"G","owner_id":"o"}`)}
	jobs, err := e.app.FanOut(app.Commit{Seq: 8, Time: t0, Events: []events.Event{ev}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].EndpointID != req.ID || jobs[0].GroupID != "G" {
		t.Fatalf("fan-out: %+v", jobs)
	}
	return jobs[0].Body
}

// A failed delivery is retried on the endpoint's schedule: the job goes
// back with the schedule's delay, a copy handed over early waits out the
// rest, and the retry at the scheduled time succeeds.
func TestFailedDeliveryIsRetriedOnSchedule(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0, 30 * time.Second}})
	var calls atomic.Int32
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rv.Close()
	body := e.fanOutOne(t, app.CreateRequest{Actor: "ops", ID: "ep", URL: rv.URL})
	d := e.app.Deliverer("ep")
	ctx := context.Background()

	m := newJobMsg(body, 1)
	d.Deliver(ctx, m)
	if have := m.wait(t); have != "nak 30s" {
		t.Fatalf("after a 503: want the job back in 30s, have %q", have)
	}
	// Handed over again 10s later (a restart): it waits the other 20s.
	e.clock.Advance(10 * time.Second)
	m = newJobMsg(body, 2)
	d.Deliver(ctx, m)
	if have := m.wait(t); have != "nak 20s" || calls.Load() != 1 {
		t.Fatalf("early copy: want the job back in 20s without a request, have %q after %d requests", have, calls.Load())
	}
	e.clock.Advance(20 * time.Second)
	m = newJobMsg(body, 3)
	d.Deliver(ctx, m)
	if have := m.wait(t); have != "ack" || calls.Load() != 2 {
		t.Fatalf("retry: want success, have %q after %d requests", have, calls.Load())
	}
	st, _, _ := e.states.Get(ctx, "ep.0194a1b2-0000-7000-8000-000000000001")
	if st.State != app.StateSucceeded || st.Attempts != 2 {
		t.Fatalf("state: %+v", st)
	}
}

// An endpoint's rate limit waits on the clock: with a fake one the wait
// is over as soon as the clock moves.
func TestRateLimitWaitsOnTheClock(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer rv.Close()
	body := e.fanOutOne(t, app.CreateRequest{Actor: "ops", ID: "ep", URL: rv.URL, RateLimit: 1})
	d := e.app.Deliverer("ep")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := newJobMsg(body, 1)
	d.Deliver(ctx, first)
	if have := first.wait(t); have != "ack" {
		t.Fatalf("first job: %q", have)
	}
	second := newJobMsg(body, 1)
	second.seq = 2
	go d.Deliver(ctx, second)
	// The second waits for its token on the clock's timer.
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-second.settled:
		t.Fatalf("settled (%s) before its turn", s)
	default:
	}
	e.clock.Advance(time.Second)
	if have := second.wait(t); have != "ack" {
		t.Fatalf("second job: %q", have)
	}
}

// Redeliver enqueues the range's wanted events under a fresh generation.
func TestRedeliverRange(t *testing.T) {
	e := newEnv(t, delivery.Policy{Schedule: []time.Duration{0}})
	ctx := context.Background()
	if _, err := e.app.CreateEndpoint(ctx, app.CreateRequest{Actor: "ops", ID: "ep", URL: "https://hooks.example.com/x", EventTypes: []string{"member.*"}}); err != nil {
		t.Fatal(err)
	}
	ev := func(id string, typ events.Type) events.Event {
		return events.Event{ID: id, Type: typ, GroupID: "G", SchemaVersion: 1, OccurredAt: t0}
	}
	e.events.commits = []app.Commit{
		{Seq: 1, Time: t0, Events: []events.Event{ev("a", "group.created")}},
		{Seq: 2, Time: t0, Events: []events.Event{ev("b", "member.invited"), ev("c", "member.joined")}},
		{Seq: 3, Time: t0, Events: []events.Event{ev("d", "member.kicked")}},
	}
	rep, err := e.app.Redeliver(ctx, app.RedeliverRequest{Actor: "ops", EndpointID: "ep", SinceSeq: 1, UntilSeq: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued != 2 || rep.Scanned != 2 || rep.FirstSeq != 1 || rep.LastSeq != 2 || rep.Truncated || rep.Generation == "" {
		t.Fatalf("redeliver: %+v", rep)
	}
	for _, j := range e.queue.jobs {
		var job app.Job
		if err := json.Unmarshal(j.Body, &job); err != nil {
			t.Fatal(err)
		}
		if job.Trigger != app.TriggerRedelivery || job.Generation != rep.Generation || j.MsgID != "ep:"+job.Event.ID+":"+rep.Generation {
			t.Fatalf("job %+v (msg id %s)", job, j.MsgID)
		}
	}
	if _, err := e.app.Redeliver(ctx, app.RedeliverRequest{Actor: "ops", EndpointID: "ep"}); events.CodeOf(err) != events.CodeInvalidArgument {
		t.Fatalf("no range: want invalid_argument, have %v", err)
	}
	if _, err := e.app.Redeliver(ctx, app.RedeliverRequest{Actor: "ops", EndpointID: "nope", SinceSeq: 1}); !errors.Is(err, endpoint.ErrNotFound) {
		t.Fatalf("unknown endpoint: want ErrNotFound, have %v", err)
	}
}
