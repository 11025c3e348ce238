package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups/adapters"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// epoch is the fake clocks' start.
var epoch = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// world is one JetStream event store (a real server) that several app
// instances, each standing for a process with its own cache, share.
type world struct {
	events app.EventStore
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := natstest.Start(t)
	stream, err := eventstore.Provision(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{events: adapters.EventStore{Store: eventstore.New(srv.JS, stream)}}
}

// process is one app instance and what the test reads beside it.
type process struct {
	app   *app.App
	clock *clockwork.FakeClock
	reg   *prometheus.Registry
}

func (w *world) process(t *testing.T, mod func(*app.Config)) *process {
	t.Helper()
	p := &process{clock: clockwork.NewFakeClockAt(epoch), reg: prometheus.NewRegistry()}
	m, err := app.NewMetrics(p.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{Events: w.events, Snapshots: adapters.NewMemorySnapshots(), Clock: p.clock, Log: zerolog.Nop(), Metrics: m}
	if mod != nil {
		mod(&cfg)
	}
	if p.app, err = app.New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.app.Wait)
	return p
}

// exec runs cmd as the port would after decoding it.
func (p *process) exec(ctx context.Context, cmd app.Command) app.Result {
	cmd.Name = cmd.Change.Kind()
	return p.app.Execute(ctx, app.Request{
		Name: cmd.Name, Subject: "roster.cmd." + cmd.Name, Payload: []byte(cmd.GroupID),
		Decode: func() (app.Command, error) { return cmd, nil },
	})
}

func (p *process) mustExec(t *testing.T, cmd app.Command) *app.Reply {
	t.Helper()
	res := p.exec(context.Background(), cmd)
	if res.Err != nil {
		t.Fatalf("%s: %v", cmd.Change.Kind(), res.Err)
	}
	return res.Reply
}

// race runs cmd from inside another process's append (not the test's
// goroutine: a failure is reported, not fatal there).
func (p *process) race(t *testing.T, cmd app.Command) {
	if res := p.exec(context.Background(), cmd); res.Err != nil {
		t.Errorf("rival %s: %v", cmd.Change.Kind(), res.Err)
	}
}

func (p *process) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

func create(id string) app.Command {
	return app.Command{GroupID: id, Actor: "o", CommandID: "create-" + id, Change: group.Create{Name: id, JoinPolicy: events.PolicyOpen}}
}

func invite(id, user string) app.Command {
	return app.Command{GroupID: id, Actor: "o", Change: group.Invite{UserIDs: []string{user}}}
}

// The use case on in-memory snapshots: events carry the clock's time, a
// repeated command id answers the original outcome, a rejection changes
// nothing.
func TestExecute(t *testing.T) {
	w := newWorld(t)
	p := w.process(t, nil)
	r := p.mustExec(t, create("A"))
	if r.Version != 1 || len(r.Events) != 1 || !r.Events[0].OccurredAt.Equal(epoch) || r.Events[0].CorrelationID != "create-A" {
		t.Fatalf("create: %+v", r)
	}
	p.clock.Advance(time.Minute)
	if r := p.mustExec(t, invite("A", "a")); r.Version != 2 || !r.Events[0].OccurredAt.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("invite: %+v", r)
	}
	again := p.exec(context.Background(), create("A"))
	if again.Err != nil || !again.Duplicate || again.Reply.Version != 1 {
		t.Fatalf("repeated create: want the original outcome, have %+v", again)
	}
	bad := p.exec(context.Background(), app.Command{GroupID: "A", Actor: "stranger", Change: group.Invite{UserIDs: []string{"b"}}})
	if events.CodeOf(bad.Err) != events.CodeForbidden {
		t.Fatalf("stranger's invite: want forbidden, have %v", bad.Err)
	}
	if r := p.mustExec(t, invite("A", "b")); r.Version != 3 {
		t.Fatalf("after a rejection: want version 3, have %d", r.Version)
	}
}

// A process whose cached group is stale decides on what the store holds: a
// rejection on the stale copy is checked against the caught-up group.
func TestStaleCacheCatchesUp(t *testing.T) {
	w := newWorld(t)
	p1, p2 := w.process(t, nil), w.process(t, nil)
	p1.mustExec(t, create("A"))
	p2.mustExec(t, invite("A", "a")) // p2 loads A cold and appends
	// p1's copy does not know a: removing a is not_found there.
	r := p1.mustExec(t, app.Command{GroupID: "A", Actor: "o", Change: group.Remove{UserIDs: []string{"a"}}})
	if r.Version != 3 {
		t.Fatalf("want version 3, have %d", r.Version)
	}
}

// A cold process loads a large group from its snapshot and folds only the
// tail after it.
func TestColdLoadFromSnapshot(t *testing.T) {
	w := newWorld(t)
	snaps := adapters.NewMemorySnapshots()
	withSnaps := func(c *app.Config) { c.Snapshots, c.SnapshotEvery = snaps, 10 }
	p1 := w.process(t, withSnaps)
	p1.mustExec(t, create("A"))
	for i := range 25 {
		p1.mustExec(t, invite("A", fmt.Sprintf("u%d", i)))
	}
	p1.app.Wait()
	if _, err := snaps.Get(context.Background(), "A"); err != nil {
		t.Fatalf("no snapshot after 26 events with SnapshotEvery 10: %v", err)
	}
	p2 := w.process(t, withSnaps)
	if r := p2.mustExec(t, invite("A", "late")); r.Version != 27 {
		t.Fatalf("want version 27, have %d", r.Version)
	}
	if folded := p2.counter(t, "roster_group_load_events_total"); folded >= 10 {
		t.Fatalf("cold load folded %v events: snapshot not used", folded)
	}
}

// rivalStore is the real event store with another process appending to
// the same group just before each of the first `races` appends: real
// conflicts, from JetStream.
type rivalStore struct {
	app.EventStore
	races atomic.Int32
	rival func()
}

func (s *rivalStore) Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	if s.races.Add(-1) >= 0 {
		s.rival()
	}
	return s.EventStore.Append(ctx, c, expectedSeq, opts...)
}

// The pause between repeated conflicts is a timer of the injected clock:
// the command waits on it (and only on it), and goes through once it
// fires.
func TestConflictPauseWaitsOnTheClock(t *testing.T) {
	w := newWorld(t)
	rival := w.process(t, nil)
	rs := &rivalStore{EventStore: w.events}
	n := 0
	rs.rival = func() {
		n++
		rival.race(t, invite("A", fmt.Sprintf("rival%d", n)))
	}
	p := w.process(t, func(c *app.Config) { c.Events = rs })
	p.mustExec(t, create("A"))
	rs.races.Store(2)

	done := make(chan app.Result, 1)
	go func() { done <- p.exec(context.Background(), invite("A", "me")) }()
	// The first conflict reloads at once; the second pauses on the clock.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("no pause after the second conflict: %v", err)
	}
	select {
	case res := <-done:
		t.Fatalf("answered before the pause ended: %+v", res)
	default:
	}
	p.clock.Advance(25 * time.Millisecond) // the longest pause
	res := <-done
	if res.Err != nil || res.Reply.Version != 4 {
		t.Fatalf("want version 4 after two rivals, have %+v", res)
	}
	if c := p.counter(t, "roster_command_conflicts_total"); c != 2 {
		t.Fatalf("want 2 conflicts counted, have %v", c)
	}
}

// A request that ends during the pause answers unavailable (retry) rather
// than waiting on.
func TestConflictPauseEndsWithTheRequest(t *testing.T) {
	w := newWorld(t)
	rival := w.process(t, nil)
	rs := &rivalStore{EventStore: w.events}
	n := 0
	rs.rival = func() {
		n++
		rival.race(t, invite("A", fmt.Sprintf("rival%d", n)))
	}
	p := w.process(t, func(c *app.Config) { c.Events = rs })
	p.mustExec(t, create("A"))
	rs.races.Store(2)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan app.Result, 1)
	go func() { done <- p.exec(ctx, invite("A", "me")) }()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := p.clock.BlockUntilContext(wait, 1); err != nil {
		t.Fatalf("no pause after the second conflict: %v", err)
	}
	cancel()
	if res := <-done; events.CodeOf(res.Err) != events.CodeUnavailable {
		t.Fatalf("want unavailable, have %+v", res)
	}
}

// Every retry losing ends in conflict after MaxConflictRetries rounds.
func TestConflictRetriesAreBounded(t *testing.T) {
	w := newWorld(t)
	rival := w.process(t, nil)
	rs := &rivalStore{EventStore: w.events}
	n := 0
	rs.rival = func() {
		n++
		rival.race(t, invite("A", fmt.Sprintf("rival%d", n)))
	}
	p := w.process(t, func(c *app.Config) { c.Events, c.MaxConflictRetries = rs, 3 })
	p.mustExec(t, create("A"))
	rs.races.Store(100)

	done := make(chan app.Result, 1)
	go func() { done <- p.exec(context.Background(), invite("A", "me")) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Attempt 1 reloads at once, attempt 2 after a pause; the third loss
	// is the last.
	if err := p.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.clock.Advance(25 * time.Millisecond)
	res := <-done
	if events.CodeOf(res.Err) != events.CodeConflict {
		t.Fatalf("want conflict, have %+v", res)
	}
	if n != 3 {
		t.Fatalf("want 3 appends tried, have %d", n)
	}
}
