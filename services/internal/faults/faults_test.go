//go:build slow

package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// plan is one run: the load and the faults injected while it runs.
type plan struct {
	load   loadConfig
	faults []string // process names, or "leader"
	// soak: keep injecting random faults from the list until it passes.
	soak time.Duration
	// catchUp bounds each fault's recovery; settle bounds the final checks.
	catchUp, settle time.Duration
}

func ciPlan() plan {
	return plan{
		load: loadConfig{groups: 60, hot: 4, workers: 12, hotters: 4, rate: 150, answerWithin: 60 * time.Second},
		// The three services whose recovery waits for an ack wait are
		// killed together (a host crash), so the run stays short.
		faults:  []string{"groups-1", "query-1", "dispatcher-1+projector-1+auditsink-1", "blip", "leader"},
		catchUp: 60 * time.Second, settle: 75 * time.Second,
	}
}

// TestFaultsStandalone: one nats-server (R1), restarted on its store.
func TestFaultsStandalone(t *testing.T) {
	runFaults(t, startStandalone(t), ciPlan())
}

// TestFaultsCluster: a 3-node JetStream cluster, R3 streams; the node that
// leads ROSTER_EVENTS is stopped under load and restarted.
func TestFaultsCluster(t *testing.T) {
	runFaults(t, &cluster{c: natstest.StartCluster(t, 3)}, ciPlan())
}

// TestFaultsSoak is the long variant, opt-in: ROSTER_SOAK=10m runs each
// topology for that long with twice the load and a random kill (any
// service or the stream leader's server) every few seconds.
func TestFaultsSoak(t *testing.T) {
	v := os.Getenv("ROSTER_SOAK")
	if v == "" {
		t.Skip("soak is opt-in: ROSTER_SOAK=<duration> (e.g. 10m) runs it; the CI variants are TestFaultsStandalone and TestFaultsCluster")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("ROSTER_SOAK=%q: want a positive duration (e.g. 10m)", v)
	}
	p := ciPlan()
	p.load = loadConfig{groups: 200, hot: 8, workers: 24, hotters: 8, rate: 300, answerWithin: 90 * time.Second}
	p.soak = d
	p.settle = 3 * time.Minute
	var all []string
	for _, l := range layout {
		for i := 1; i <= l.n; i++ {
			all = append(all, fmt.Sprintf("%s-%d", l.service, i))
		}
	}
	p.faults = append(all, "leader", "leader", "blip")
	t.Run("standalone", func(t *testing.T) { runFaults(t, startStandalone(t), p) })
	t.Run("cluster", func(t *testing.T) { runFaults(t, &cluster{c: natstest.StartCluster(t, 3)}, p) })
}

func runFaults(t *testing.T, topo topology, p plan) {
	start := time.Now()
	h := newHarness(t, topo)
	h.startAll(t)
	receivers := map[string]*receiver{"faults-a": newReceiver(t), "faults-b": newReceiver(t)}
	for _, id := range sortedKeys(receivers) {
		h.createEndpoint(t, id, receivers[id])
	}
	t.Logf("%s: services up and endpoints registered in %s", topo.name(), time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cw := &consumerWatch{}
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); h.watchConsumers(ctx, cw) }()

	ld := newLoad(p.load, h.nc)
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	loadStart := time.Now()
	go func() { defer close(loadDone); ld.run(stop) }()
	stopLoad := sync.OnceFunc(func() { close(stop); <-loadDone })
	defer stopLoad()
	natstest.Eventually(t, 60*time.Second, func() error {
		if a, _, _, _ := ld.counts(); a < 300 {
			return fmt.Errorf("%d commands acknowledged", a)
		}
		return nil
	})

	f := &faulter{t: t, h: h, ld: ld, topo: topo, p: p, receivers: receivers}
	if p.soak > 0 {
		end := time.Now().Add(p.soak)
		for time.Now().Before(end) {
			f.inject(p.faults[rand.IntN(len(p.faults))])
		}
	} else {
		for _, name := range p.faults {
			f.inject(name)
		}
	}
	stopLoad()
	loadTime := time.Since(loadStart)
	cancel()
	<-watchDone

	acks, dups, rej, unres := ld.counts()
	t.Logf("fault-figures: topology=%s load: %d commands in %s (%.0f/s), %d acknowledged (%d as duplicates of a retried command), %d rejected, %d unresolved; read-your-writes queries %d ok, %d retried",
		topo.name(), acks+rej+unres, loadTime.Round(time.Second), float64(acks+rej+unres)/loadTime.Seconds(), acks, dups, rej, unres, ld.queries.ok, ld.queries.retried)
	for _, line := range f.figures {
		t.Log("fault-figures: topology=" + topo.name() + " " + line)
	}
	t.Logf("fault-figures: topology=%s consumers on %s: max %d over %d polls (bound %d)", topo.name(), events.StreamName, cw.max, cw.polls, maxConsumers)

	for _, e := range ld.failures {
		t.Error("load: " + e)
	}
	for _, e := range h.unexpectedExits() {
		t.Error("process: " + e)
	}
	if cw.max > maxConsumers {
		t.Errorf("%s had %d consumers (bound %d): %s", events.StreamName, cw.max, maxConsumers, strings.Join(cw.names, ", "))
	}

	settleStart := time.Now()
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	v, err := h.readStream(rctx)
	rcancel()
	if err != nil {
		t.Fatalf("read %s: %v", events.StreamName, err)
	}
	for _, pr := range v.problems {
		t.Error("stream: " + pr)
	}
	errs, unresolvedApplied := checkCommands(ld, v)
	for _, e := range errs {
		t.Error("commands: " + e)
	}
	t.Logf("%s: stream holds %d commits, %d events in %d groups (last seq %d); %d unresolved commands were applied",
		topo.name(), v.commits, len(v.eventIDs), len(v.states), v.lastSeq, unresolvedApplied)
	if acks == 0 || v.commits < acks-dups {
		t.Errorf("stream has %d commits for %d acknowledged commands", v.commits, acks-dups)
	}

	// The read model, the deliveries and the audit tables settle in
	// parallel; each check polls until it holds or the settle time passes.
	sctx, scancel := context.WithTimeout(context.Background(), p.settle+10*time.Second)
	defer scancel()
	type result struct {
		name string
		err  error
		took time.Duration
	}
	checks := []struct {
		name string
		fn   func() error
	}{
		{"projection equals the fold of the stream", func() error { return h.checkProjection(sctx, v) }},
		{"every event delivered to every endpoint", func() error { return checkDeliveries(v, receivers) }},
		{"ClickHouse events table equals the stream", func() error { return h.checkAuditEvents(sctx, v) }},
		{"ClickHouse commands table: one accepted row per commit, a row for every rejection and duplicate", func() error { return h.checkAuditCommands(sctx, ld, v) }},
		{"ClickHouse delivery_attempts: a succeeded row per event and endpoint", func() error {
			_, err := h.checkAuditDeliveries(sctx, v, sortedKeys(receivers))
			return err
		}},
	}
	results := make([]result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := waitFor(sctx, p.settle, c.fn)
			results[i] = result{c.name, err, time.Since(settleStart)}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: not within %s: %v", r.name, p.settle, r.err)
		} else {
			t.Logf("%s: %s: holds %s after the load stopped", topo.name(), r.name, r.took.Round(time.Millisecond))
		}
	}
	attempts, _ := h.checkAuditDeliveries(sctx, v, sortedKeys(receivers))
	for _, id := range sortedKeys(receivers) {
		st := receivers[id].stats(v.eventIDs)
		for _, pr := range st.problems {
			t.Errorf("%s: %s", id, pr)
		}
		if len(st.extra) > 0 {
			t.Errorf("%s received %d events that are not in the stream (e.g. %s)", id, len(st.extra), st.extra[0])
		}
		if attempts[id] > uint64(st.requests) {
			t.Errorf("%s: %d delivery_attempts rows for %d HTTP requests received", id, attempts[id], st.requests)
		}
		t.Logf("fault-figures: topology=%s endpoint %s: %d events, %d HTTP requests, %d events received more than once, %d delivery_attempts rows",
			topo.name(), id, st.events, st.requests, st.redelivered, attempts[id])
	}
	t.Logf("%s: whole run %s", topo.name(), time.Since(start).Round(time.Second))
}

// faulter injects one fault at a time and measures the recovery.
type faulter struct {
	t         *testing.T
	h         *harness
	ld        *load
	topo      topology
	p         plan
	receivers map[string]*receiver

	mu      sync.Mutex
	figures []string
}

// inject runs one entry of the plan: "leader", "blip", a process name, or
// several process names joined by "+", killed together (as a host crash
// would) and measured in parallel.
func (f *faulter) inject(entry string) {
	switch entry {
	case "leader":
		f.leader()
		return
	case "blip":
		f.blip()
		return
	}
	var restarts []func()
	for _, name := range strings.Split(entry, "+") {
		restarts = append(restarts, f.kill(name))
	}
	var wg sync.WaitGroup
	for _, r := range restarts {
		wg.Add(1)
		go func() { defer wg.Done(); r() }()
	}
	wg.Wait()
}

// kill SIGKILLs one process and returns what restarts and measures it.
func (f *faulter) kill(name string) func() {
	t, h := f.t, f.h
	p := h.procs[name]
	// What "caught up" means for each service, fixed at the kill.
	var caughtUp func() error
	lastSeq := func() uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := h.js.Stream(ctx, events.StreamName)
		if err != nil {
			return 0
		}
		return s.CachedInfo().State.LastSeq
	}
	service := strings.TrimSuffix(name, name[strings.LastIndex(name, "-"):])
	killAt := time.Now()
	p.kill()
	switch service {
	case "groups":
		caughtUp = func() error { return h.instances("roster-groups", 2) }
	case "dispatcher":
		ids := f.ld.ackedEventIDs()
		caughtUp = func() error {
			if err := h.instances("roster-webhooks", 2); err != nil {
				return err
			}
			for _, id := range sortedKeys(f.receivers) {
				if n, one := f.receivers[id].missing(ids); n > 0 {
					return fmt.Errorf("%s misses %d of the %d events acknowledged before the kill (e.g. %s)", id, n, len(ids), one)
				}
			}
			return nil
		}
	case "projector":
		seq := lastSeq()
		caughtUp = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := membership.ReadStatus(ctx, h.js)
			if err != nil {
				return err
			}
			if st.AppliedSeq < seq {
				return fmt.Errorf("projection applied %d of %d", st.AppliedSeq, seq)
			}
			return nil
		}
	case "auditsink":
		seq := lastSeq()
		caughtUp = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := h.js.Consumer(ctx, events.StreamName, "roster-auditsink-events")
			if err != nil {
				return err
			}
			if af := c.CachedInfo().AckFloor.Stream; af < seq {
				return fmt.Errorf("audit sink acknowledged events up to %d of %d", af, seq)
			}
			return nil
		}
	case "query":
		caughtUp = func() error {
			if err := h.instances("roster-query", 1); err != nil {
				return err
			}
			var info membership.GroupInfo
			return h.queryOnce(membership.SubjectGroup, membership.GroupRequest{GroupID: "G0"}, &info)
		}
	default:
		t.Fatalf("unknown process %s", name)
	}
	return func() {
		if err := p.start(); err != nil {
			t.Errorf("restart %s: %v", name, err)
			return
		}
		f.measure(name, p, killAt, caughtUp)
	}
}

// measure times a restarted process until healthy and caught up.
func (f *faulter) measure(name string, p *proc, killAt time.Time, caughtUp func() error) {
	t := f.t
	restartAt := time.Now()
	healthyErr := waitFor(context.Background(), f.p.catchUp, p.healthy)
	healthy := time.Since(restartAt)
	err := waitFor(context.Background(), f.p.catchUp, caughtUp)
	caught := time.Since(restartAt)
	gap := f.ld.maxAckGap(killAt.Add(-time.Second), time.Now())
	if healthyErr != nil {
		t.Errorf("kill %s: not healthy %s after its restart: %v", name, f.p.catchUp, healthyErr)
	}
	if err != nil {
		t.Errorf("kill %s: not caught up %s after its restart: %v", name, f.p.catchUp, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.figures = append(f.figures, fmt.Sprintf("fault=kill-%s restart_to_healthy=%s restart_to_caught_up=%s longest_gap_between_command_acks=%s",
		name, healthy.Round(time.Millisecond), caught.Round(time.Millisecond), gap.Round(time.Millisecond)))
}

// leader stops the server leading ROSTER_EVENTS. On the cluster it stays
// down until commands are acknowledged again (the failover), then comes
// back; the standalone server comes back at once (nothing else can serve).
func (f *faulter) leader() {
	t, h := f.t, f.h
	node := f.topo.stopLeader(t)
	stopAt := time.Now()
	ackedAfter := func(at time.Time) func() error {
		return func() error {
			f.ld.mu.Lock()
			defer f.ld.mu.Unlock()
			for i := len(f.ld.ackTimes) - 1; i >= 0; i-- {
				if f.ld.ackTimes[i].After(at) {
					return nil
				}
			}
			return fmt.Errorf("no command acknowledged since %s", at.Format(time.TimeOnly))
		}
	}
	if f.topo.replicas() > 1 {
		if err := waitFor(context.Background(), f.p.catchUp, ackedAfter(stopAt)); err != nil {
			t.Errorf("leader %s stopped: %v within %s", node, err, f.p.catchUp)
		}
	}
	restartAt := time.Now()
	f.topo.restartLeader(t)
	rejoined := time.Since(restartAt)
	if err := waitFor(context.Background(), f.p.catchUp, ackedAfter(time.Now())); err != nil {
		t.Errorf("after %s restarted: %v within %s", node, err, f.p.catchUp)
	}
	for _, n := range h.order {
		if err := waitFor(context.Background(), f.p.catchUp, h.procs[n].healthy); err != nil {
			t.Errorf("after %s restarted: %v", node, err)
		}
	}
	gap := f.ld.maxAckGap(stopAt.Add(-time.Second), time.Now())
	failover := f.ld.firstAckAfter(stopAt).Sub(stopAt)
	f.figures = append(f.figures, fmt.Sprintf("fault=stop-stream-leader node=%s first_ack_after_stop=%s restart_to_stream_current=%s longest_gap_between_command_acks=%s",
		node, failover.Round(time.Millisecond), rejoined.Round(time.Millisecond), gap.Round(time.Millisecond)))
}

// blip drops every service's NATS connection at once and measures how long
// clients waited for a command acknowledgement and until every process
// reported itself connected again.
func (f *faulter) blip() {
	t, h := f.t, f.h
	at := time.Now()
	n, err := h.dropConnections()
	if err != nil {
		t.Errorf("blip: %v", err)
	}
	// Every rosterd process holds one connection, so all are back when
	// there are as many as processes. The drop's own count was sometimes
	// one higher on the cluster (8 for 7 processes, never coming back; the
	// cause is not proven: a connection a server still listed for a
	// process killed by an earlier fault fits), so it is only reported.
	procs := len(h.order)
	errs := []error{waitFor(context.Background(), f.p.catchUp, func() error {
		have, err := h.serviceConns(false)
		if err == nil && have < procs {
			err = fmt.Errorf("%d of %d processes' connections back (%d dropped)", have, procs, n)
		}
		return err
	})}
	for _, name := range h.order {
		errs = append(errs, waitFor(context.Background(), f.p.catchUp, h.procs[name].healthy))
	}
	reconnected := time.Since(at)
	for svc, k := range map[string]int{"roster-groups": 2, "roster-query": 1, "roster-webhooks": 2} {
		errs = append(errs, waitFor(context.Background(), f.p.catchUp, func() error { return h.instances(svc, k) }))
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("after a blip: %v", err)
	}
	serving := time.Since(at)
	// The window closes at the first acknowledgement after the services
	// serve again.
	_ = waitFor(context.Background(), f.p.catchUp, func() error {
		if f.ld.firstAckAfter(at.Add(serving)).IsZero() {
			return errNotYet
		}
		return nil
	})
	gap := f.ld.maxAckGap(at.Add(-time.Second), time.Now())
	f.figures = append(f.figures, fmt.Sprintf("fault=network-blip connections_dropped=%d all_reconnected=%s all_serving=%s longest_gap_between_command_acks=%s",
		n, reconnected.Round(time.Millisecond), serving.Round(time.Millisecond), gap.Round(time.Millisecond)))
}

// queryOnce sends one query without retrying.
func (h *harness) queryOnce(subject string, req, into any) error {
	b, _ := json.Marshal(req)
	msg, err := h.nc.Request(subject, b, 3*time.Second)
	if err != nil {
		return err
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(msg.Data, &e) == nil && e.Error != nil {
		return fmt.Errorf("%s: %s: %s", subject, e.Error.Code, e.Error.Message)
	}
	return json.Unmarshal(msg.Data, into)
}
