package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// The OpenIM seed failure (issue #3230 upstream): a receiver that answers
// a valid JSON value followed by text.
const (
	seedBadBody  = `{"actionCode":0}Callback ok`
	seedGoodBody = `{"actionCode":0,"errCode":0,"errMsg":"","nextCode":0}`
	seedPauseAt  = 3
)

// seedStep is one command of the scenario: its subject and the user it
// names ("" for the creation).
type seedStep struct{ subject, user string }

// seedReceiver is a loopback OpenIM receiver: broken until fix is called.
type seedReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	fixed bool
	good  map[string]bool // operationID -> answered properly
}

func newSeedReceiver(t *testing.T) *seedReceiver {
	rv := &seedReceiver{good: map[string]bool{}}
	rv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rv.mu.Lock()
		fixed := rv.fixed
		if fixed {
			rv.good[r.Header.Get("operationID")] = true
		}
		rv.mu.Unlock()
		if fixed {
			_, _ = w.Write([]byte(seedGoodBody))
			return
		}
		_, _ = w.Write([]byte(seedBadBody))
	}))
	t.Cleanup(rv.Close)
	return rv
}

func (rv *seedReceiver) fix() {
	rv.mu.Lock()
	rv.fixed = true
	rv.mu.Unlock()
}

func (rv *seedReceiver) delivered() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.good)
}

// call sends a request and decodes a success reply into out; an error
// reply fails the test.
func call(t *testing.T, nc *nats.Conn, subject string, req, out any) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &e); err != nil || e.Error != nil {
		t.Fatalf("%s: error reply %s", subject, msg.Data)
	}
	if out != nil {
		if err := json.Unmarshal(msg.Data, out); err != nil {
			t.Fatalf("%s reply %s: %v", subject, msg.Data, err)
		}
	}
}

// startSeedStack wires the real command service, the real dispatcher, one
// audit publisher shared by both and the sink, as rosterd dev does
// (services/cmd/rosterd: groups.go, dispatcher.go, auditsink.go), with a
// compressed retry schedule and a pause threshold of seedPauseAt.
func startSeedStack(t *testing.T, ns *natstest.Server, ch audit.ClickHouseConfig) (*audit.Publisher, *webhook.Dispatcher) {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	pub := audit.StartPublisher(t, ns.JS)
	audit.StartSink(t, ns.JS, audit.SinkConfig{ClickHouse: ch})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	svc, err := groups.New(ctx, groups.Config{NC: ns.NC, JS: ns.JS, Log: log, Audit: pub})
	if err != nil {
		t.Fatal(err)
	}
	var retry []time.Duration
	for range 10 {
		retry = append(retry, 20*time.Millisecond)
	}
	d, err := webhook.New(ctx, webhook.Config{
		NC: ns.NC, JS: ns.JS, Log: log, Audit: pub,
		AllowCIDRs:    []string{"127.0.0.0/8"}, // the receiver is on loopback: allowlisted explicitly
		Retry:         delivery.Policy{Schedule: retry},
		Health:        delivery.HealthPolicy{MaxConsecutiveFailures: seedPauseAt},
		HoldDelay:     10 * time.Millisecond,
		MaxHoldDelay:  200 * time.Millisecond,
		AckWait:       5 * time.Second,
		Metrics:       prometheus.NewRegistry(),
		DepthInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(context.Context) error{"groups": svc.Run, "dispatcher": d.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
	}
	natstest.WaitEndpoints(t, ns.NC, groups.ServiceName, len(groups.CommandNames()))
	natstest.WaitEndpoints(t, ns.NC, webhook.ServiceName, len(webhook.Verbs)+1)
	return pub, d
}

// TestSeedScenarioAuditTrail plays the OpenIM seed scenario through the
// real services (create group A owned by o; invite a; remove a; invite a)
// with an openim endpoint whose receiver answers `{"actionCode":0}Callback
// ok` until the endpoint is paused automatically, then is fixed and the
// endpoint resumed. The four audit tables then hold exactly the rows that
// tell that story, and nothing more arrives once every component is idle.
func TestSeedScenarioAuditTrail(t *testing.T) {
	ns := natstest.Start(t)
	ch := audit.NewTestClickHouse(t)
	conn := audit.OpenTestClickHouse(t, ch)
	pub, d := startSeedStack(t, ns, ch)
	rv := newSeedReceiver(t)
	nc := ns.NC

	const ep = "openim"
	call(t, nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": "ops", "id": ep, "url": rv.URL + "/callback", "format": "openim", "ordered": true,
		// OpenIM 3.8 has no after-callback for an invite: named, or not sent.
		"event_types": []string{"*", "member.invited"},
	}, nil)

	seed := []seedStep{{"group.create", ""}, {"member.invite", "a"}, {"member.remove", "a"}, {"member.invite", "a"}}
	var (
		evs     []events.Event
		cmdIDs  []string
		replies []groups.Reply
	)
	for _, s := range seed {
		req := map[string]any{"group_id": "A", "actor": "o"}
		if s.user == "" {
			req["name"] = "Group A"
		} else {
			req["user_ids"] = []string{s.user}
		}
		var r groups.Reply
		start := time.Now()
		call(t, nc, "roster.cmd."+s.subject, req, &r)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("%s took %s: commands must not wait on webhooks", s.subject, took)
		}
		if len(r.Events) != 1 {
			t.Fatalf("%s: want one event, have %d", s.subject, len(r.Events))
		}
		replies = append(replies, r)
		evs = append(evs, r.Events...)
		cmdIDs = append(cmdIDs, r.CommandID)
	}

	natstest.Eventually(t, 15*time.Second, func() error {
		var r webhook.EndpointReply
		call(t, nc, webhook.SubjectPrefix+"get", map[string]any{"id": ep}, &r)
		if !r.Endpoint.Paused() {
			return fmt.Errorf("endpoint %s is %s, want paused", ep, r.Endpoint.State)
		}
		return nil
	})
	rv.fix()
	call(t, nc, webhook.SubjectPrefix+"resume", map[string]any{"actor": "ops", "id": ep}, nil)
	natstest.Eventually(t, 15*time.Second, func() error {
		if n := rv.delivered(); n != len(evs) {
			return fmt.Errorf("receiver acknowledged %d events, want %d", n, len(evs))
		}
		return nil
	})

	want := map[string]uint64{"commands": 4, "events": 4, "delivery_attempts": seedPauseAt + 4, "endpoint_changes": 3}
	for _, table := range []string{"commands", "events", "delivery_attempts", "endpoint_changes"} {
		audit.WaitRows(t, conn, ch.Database, table, want[table], 20*time.Second)
	}
	// Quiet: no job left to attempt, nothing buffered in the publisher,
	// nothing unread by the fan-out or the sink. Only then is "exactly"
	// meaningful: nothing can still be on its way.
	waitQuiet(t, nc, pub, d, ep)
	for table, n := range want {
		rows, ids := countFinal(t, conn, ch.Database, table)
		if rows != n || ids != n {
			t.Errorf("%s after the quiet period: want %d rows, have %d (%d distinct ids)", table, n, rows, ids)
		}
	}

	r := audit.Reader{Conn: conn, DB: ch.Database}
	ctx := context.Background()
	checkCommands(t, r, ctx, seed, replies)
	checkEvents(t, r, ctx, evs, cmdIDs)
	checkDeliveries(t, r, ctx, ep, evs)
	checkEndpointChanges(t, r, ctx, ep)
}

func waitQuiet(t *testing.T, nc *nats.Conn, pub *audit.Publisher, d *webhook.Dispatcher, ep string) {
	t.Helper()
	audit.FlushPublisher(t, pub)
	consumers := []struct{ stream, name string }{
		{events.StreamName, webhook.FanoutDurable},
		{audit.StreamName, "roster-auditsink"},
		{events.StreamName, "roster-auditsink-events"},
	}
	// The fan-out's consumer is Watermill's push consumer, which the
	// jetstream package does not look up: ask the JetStream API directly.
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		ctx := context.Background()
		if n, err := d.QueueDepth(ctx, ep); err != nil || n != 0 {
			return fmt.Errorf("endpoint %s queue depth %d (%v)", ep, n, err)
		}
		if n := pub.Pending(); n != 0 {
			return fmt.Errorf("%d audit records unpublished", n)
		}
		for _, c := range consumers {
			info, err := js.ConsumerInfo(c.stream, c.name, nats.Context(ctx))
			if err != nil {
				return err
			}
			if info.NumPending != 0 || info.NumAckPending != 0 {
				return fmt.Errorf("%s/%s: %d pending, %d unacknowledged", c.stream, c.name, info.NumPending, info.NumAckPending)
			}
		}
		return nil
	})
}

func countFinal(t *testing.T, conn driver.Conn, db, table string) (rows, ids uint64) {
	t.Helper()
	if err := conn.QueryRow(context.Background(), fmt.Sprintf("SELECT count(), uniqExact(id) FROM `%s`.%s FINAL", db, table)).Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	return rows, ids
}

func checkCommands(t *testing.T, r audit.Reader, ctx context.Context, seed []seedStep, replies []groups.Reply) {
	t.Helper()
	cmds, err := r.Commands(ctx, audit.Filter{GroupID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != len(seed) {
		t.Fatalf("commands of A: want %d, have %d", len(seed), len(cmds))
	}
	slices.SortFunc(cmds, func(a, b audit.Command) int { return int(a.Version) - int(b.Version) })
	for i, c := range cmds {
		wantV := uint64(i + 1)
		switch {
		case c.Outcome != "accepted" || c.ErrorCode != "" || c.ErrorMsg != "":
			t.Errorf("command %d: want accepted, have %s %s %q", i, c.Outcome, c.ErrorCode, c.ErrorMsg)
		case c.Version != wantV || replies[i].Version != wantV:
			t.Errorf("command %d: want version %d, have %d (reply %d)", i, wantV, c.Version, replies[i].Version)
		case c.Subject != "roster.cmd."+seed[i].subject:
			t.Errorf("command %d: want subject roster.cmd.%s, have %s", i, seed[i].subject, c.Subject)
		case c.Actor != "o" || c.GroupID != "A":
			t.Errorf("command %d: actor %q group %q", i, c.Actor, c.GroupID)
		case c.CommandID != replies[i].CommandID:
			t.Errorf("command %d: command id %q, reply said %q", i, c.CommandID, replies[i].CommandID)
		case len(c.PayloadHash) != 64 || c.PayloadSize == 0 || c.LatencyUS <= 0:
			t.Errorf("command %d: payload hash %q size %d latency %dus", i, c.PayloadHash, c.PayloadSize, c.LatencyUS)
		}
	}
}

func checkEvents(t *testing.T, r audit.Reader, ctx context.Context, evs []events.Event, cmdIDs []string) {
	t.Helper()
	rows, err := r.Events(ctx, audit.Filter{GroupID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{"group.created", "member.invited", "member.removed", "member.invited"}
	if len(rows) != len(wantTypes) {
		t.Fatalf("events of A: want %d, have %d", len(wantTypes), len(rows))
	}
	var lastSeq uint64
	for i, e := range rows {
		switch {
		case e.Type != wantTypes[i] || e.Version != uint64(i+1):
			t.Errorf("event %d: want %s v%d, have %s v%d", i, wantTypes[i], i+1, e.Type, e.Version)
		case e.ID != evs[i].ID:
			t.Errorf("event %d: id %s, the command reply said %s", i, e.ID, evs[i].ID)
		case e.StreamSeq <= lastSeq:
			t.Errorf("event %d: stream sequence %d after %d", i, e.StreamSeq, lastSeq)
		case e.CommandID != cmdIDs[i] || e.Actor != "o":
			t.Errorf("event %d: command %q actor %q, want %q o", i, e.CommandID, e.Actor, cmdIDs[i])
		case !json.Valid([]byte(e.Data)):
			t.Errorf("event %d: data %q is not JSON", i, e.Data)
		}
		lastSeq = e.StreamSeq
	}
}

func checkDeliveries(t *testing.T, r audit.Reader, ctx context.Context, ep string, evs []events.Event) {
	t.Helper()
	rows, err := r.Deliveries(ctx, audit.Filter{EndpointID: ep})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != seedPauseAt+len(evs) {
		t.Fatalf("attempts: want %d invalid responses and %d deliveries, have %d rows", seedPauseAt, len(evs), len(rows))
	}
	for i, a := range rows {
		// Failures first, all of the group's first event (the endpoint is
		// ordered), then every event once, in version order.
		ev, attempt, trigger := evs[0], i+1, webhook.TriggerScheduled
		if i >= seedPauseAt {
			ev, trigger = evs[i-seedPauseAt], webhook.TriggerResume
			attempt = 1
			if i == seedPauseAt {
				attempt = seedPauseAt + 1 // the first event's series goes on
			}
		}
		stable := delivery.MessageID(ep, ev.ID)
		what := fmt.Sprintf("attempt row %d (%s v%d)", i, ev.Type, ev.Version)
		switch {
		case a.EventID != ev.ID || a.EventType != string(ev.Type) || a.GroupID != "A":
			t.Errorf("%s: event %s %s group %q", what, a.EventID, a.EventType, a.GroupID)
		case a.Attempt != attempt || a.Trigger != trigger:
			t.Errorf("%s: want attempt %d trigger %s, have %d %s", what, attempt, trigger, a.Attempt, a.Trigger)
		case a.RequestHeaders["webhook-id"] != stable || a.RequestHeaders["operationid"] != stable:
			t.Errorf("%s: ids %q / %q, want the stable %q", what, a.RequestHeaders["webhook-id"], a.RequestHeaders["operationid"], stable)
		case hasSignature(a.RequestHeaders):
			t.Errorf("%s: a signature is stored: %v", what, a.RequestHeaders)
		case a.Format != "openim" || !strings.HasPrefix(a.URL, "http://127.0.0.1:") || a.ResponseStatus != http.StatusOK:
			t.Errorf("%s: format %s url %s status %d", what, a.Format, a.URL, a.ResponseStatus)
		case i < seedPauseAt && (a.Success || a.FailureClass != string(delivery.ClassInvalidResponse) ||
			a.ResponseBody != seedBadBody || a.State != webhook.StateRetrying || a.NextAttemptAt == nil):
			t.Errorf("%s: want an invalid_response to retry, have success=%v class=%q body=%q state=%s next=%v",
				what, a.Success, a.FailureClass, a.ResponseBody, a.State, a.NextAttemptAt)
		case i >= seedPauseAt && (!a.Success || a.FailureClass != "" || a.ResponseBody != seedGoodBody ||
			a.State != webhook.StateSucceeded || a.NextAttemptAt != nil):
			t.Errorf("%s: want a delivery, have success=%v class=%q body=%q state=%s", what, a.Success, a.FailureClass, a.ResponseBody, a.State)
		}
	}
}

func checkEndpointChanges(t *testing.T, r audit.Reader, ctx context.Context, ep string) {
	t.Helper()
	rows, err := r.EndpointChanges(ctx, audit.Filter{EndpointID: ep})
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, c := range rows {
		have = append(have, fmt.Sprintf("%s by %s automatic=%v", c.Change, c.Actor, c.Automatic))
		if strings.Contains(c.Endpoint, "whsec_") {
			t.Errorf("%s row carries a secret", c.Change)
		}
	}
	want := []string{"created by ops automatic=false", "paused by system automatic=true", "resumed by ops automatic=false"}
	if !slices.Equal(have, want) {
		t.Fatalf("endpoint changes: want %q, have %q", want, have)
	}
	reason := rows[1].Reason
	if !strings.Contains(reason, fmt.Sprintf("%d consecutive failed attempts", seedPauseAt)) || !strings.Contains(reason, "invalid_response") {
		t.Errorf("pause reason %q: want the count and the failure class", reason)
	}
}

// hasSignature reports whether headers carry a signature value (the
// dispatcher leaves it out; the sink would redact it).
func hasSignature(h map[string]string) bool {
	for k, v := range h {
		if strings.Contains(v, "v1,") || (k == "webhook-signature" && v != audit.RedactedValue) {
			return true
		}
	}
	return false
}
