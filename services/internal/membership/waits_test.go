package membership

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// plainQueryBound is the generous bound a plain query must answer within
// while waits are parked (it takes about a millisecond on its own);
// floodQueryBound applies while 300 other queries compete for the CPU and
// the workers on a shared 2-core machine (before ADR 0051 such a query
// took 4.7-8 s).
const (
	plainQueryBound = 500 * time.Millisecond
	floodQueryBound = 2 * time.Second
)

// TestWaitingQueriesNeverTakePlainQueriesWorkers: with more queries parked
// on min_version than there are workers, and with hundreds of absurd
// min_version queries arriving, a plain query still answers fast; one wait
// more than the wait pool holds is refused at once; the parked queries are
// answered when the version arrives.
func TestWaitingQueriesNeverTakePlainQueriesWorkers(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	const workers, waiters = 8, 24
	nc, js := f.srv.ConnectJS(t)
	q, err := NewQueries(QueryConfig{NC: nc, JS: js, Log: testLog(t), MaxWait: 30 * time.Second,
		MaxInFlight: workers, MaxWaiting: waiters})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q.Run)
	natstest.Eventually(t, 10*time.Second, func() error {
		if q.active.Load() == nil {
			return errors.New("no active generation yet")
		}
		return nil
	})
	v := f.do("G", "o", group.Create{Name: "G"})
	natstest.Eventually(t, 10*time.Second, func() error {
		var gi GroupInfo
		if e := f.query(SubjectGroup, GroupRequest{GroupID: "G"}, &gi); e != nil || gi.Version != v {
			return fmt.Errorf("group G not projected yet: %+v", e)
		}
		return nil
	})

	// Park as many waits as the pool holds (three times the workers).
	parked := make(chan *nats.Msg, waiters)
	var wg sync.WaitGroup
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(MembersRequest{GroupID: "G", MinVersion: v + 1})
			msg, err := f.nc.Request(SubjectMembers, body, 40*time.Second)
			if err != nil {
				t.Errorf("parked query: %v", err)
				return
			}
			parked <- msg
		}()
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if n := q.app.Waiting(); n != waiters {
			return fmt.Errorf("%d queries parked, want %d", n, waiters)
		}
		return nil
	})

	timed := func(name, subject string, req any, wantCode events.Code, bound time.Duration) time.Duration {
		t.Helper()
		begin := time.Now()
		e := f.query(subject, req, nil)
		took := time.Since(begin)
		switch {
		case wantCode == "" && e != nil:
			t.Fatalf("%s: %s: %s", name, e.Code, e.Message)
		case wantCode != "" && (e == nil || e.Code != string(wantCode)):
			t.Fatalf("%s: want %s, have %+v", name, wantCode, e)
		}
		if took > bound {
			t.Fatalf("%s took %s, want under %s", name, took, bound)
		}
		return took
	}
	timed("one wait more than the pool holds", SubjectGroup, GroupRequest{GroupID: "G", MinVersion: v + 1}, events.CodeUnavailable, plainQueryBound)
	var slowest time.Duration
	for i := range 50 {
		slowest = max(slowest, timed(fmt.Sprintf("plain query %d", i), SubjectGroup, GroupRequest{GroupID: "G"}, "", plainQueryBound))
	}
	t.Logf("slowest of 50 plain queries with %d waits parked on %d workers: %s", waiters, workers, slowest)

	// The load: hundreds of min_version 2^64-1 queries at once.
	// Plain queries on the other endpoints compete with them for workers
	// only (each micro endpoint reads its own subscription in order, so a
	// query on the flooded endpoint also queues behind the flood).
	absurd, _ := json.Marshal(GroupRequest{GroupID: "G", MinVersion: math.MaxUint64})
	replies := make(chan *nats.Msg, 300)
	inbox := nats.NewInbox()
	sub, err := f.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for range 300 {
		if err := f.nc.PublishRequest(SubjectGroup, inbox, absurd); err != nil {
			t.Fatal(err)
		}
	}
	slowest = 0
	for i := range 50 {
		slowest = max(slowest, timed(fmt.Sprintf("plain query %d during the flood", i), SubjectMembers, MembersRequest{GroupID: "G"}, "", floodQueryBound))
	}
	t.Logf("slowest of 50 plain queries with %d waits parked and 300 min_version 2^64-1 queries sent: %s", waiters, slowest)
	for range 300 {
		select {
		case m := <-replies:
			var env struct{ Error *replyErr }
			if err := json.Unmarshal(m.Data, &env); err != nil || env.Error == nil || env.Error.Code != string(events.CodeInvalidArgument) {
				t.Fatalf("absurd min_version: want invalid_argument, have %s", m.Data)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("absurd min_version queries not all answered")
		}
	}
	timed("far ahead of the group", SubjectGroup, GroupRequest{GroupID: "G", MinVersion: v + DefaultMaxVersionAhead + 1}, events.CodeInvalidArgument, plainQueryBound)
	timed("beyond 2^53", SubjectGroup, GroupRequest{GroupID: "G", MinVersion: MaxMinVersion + 1}, events.CodeInvalidArgument, plainQueryBound)

	// The version arrives: every parked query is answered with it.
	v2 := f.do("G", "o", group.Invite{UserIDs: []string{"a"}})
	wg.Wait()
	close(parked)
	n := 0
	for msg := range parked {
		var r MembersReply
		if err := json.Unmarshal(msg.Data, &r); err != nil || r.Version < v2 {
			t.Fatalf("parked query answered %s, want version %d", msg.Data, v2)
		}
		n++
	}
	if n != waiters {
		t.Fatalf("%d parked queries answered, want %d", n, waiters)
	}
	// A worker frees its slot just after it replied.
	natstest.Eventually(t, 5*time.Second, func() error {
		if q.app.Waiting() != 0 || q.app.InFlight() != 0 {
			return fmt.Errorf("slots held: %d waiting, %d workers", q.app.Waiting(), q.app.InFlight())
		}
		return nil
	})
}

// TestWaitsShareOneWatchPerGeneration: waiters on several groups (one not
// created yet) share one info watch; each is answered when its own group
// reaches its version, and the watch stops when the last waiter leaves.
func TestWaitsShareOneWatchPerGeneration(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	nc, js := f.srv.ConnectJS(t)
	q, err := NewQueries(QueryConfig{NC: nc, JS: js, Log: testLog(t), MaxWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q.Run)
	natstest.Eventually(t, 10*time.Second, func() error {
		if q.active.Load() == nil {
			return errors.New("no active generation yet")
		}
		return nil
	})
	va := f.do("A", "o", group.Create{Name: "A"})
	vb := f.do("B", "o", group.Create{Name: "B"})
	natstest.Eventually(t, 10*time.Second, func() error {
		if e := f.query(SubjectGroup, GroupRequest{GroupID: "B", MinVersion: vb}, nil); e != nil {
			return errors.New(e.Message)
		}
		return nil
	})
	type answer struct {
		group string
		msg   *nats.Msg
	}
	answers := make(chan answer, 9)
	for _, w := range []struct {
		group string
		min   uint64
	}{{"A", va + 1}, {"A", va + 1}, {"A", va + 1}, {"B", vb + 1}, {"B", vb + 1}, {"B", vb + 1}, {"C", 1}, {"C", 1}, {"C", 1}} {
		go func() {
			body, _ := json.Marshal(GroupRequest{GroupID: w.group, MinVersion: w.min})
			msg, err := f.nc.Request(SubjectGroup, body, 30*time.Second)
			if err != nil {
				t.Errorf("wait on %s: %v", w.group, err)
				return
			}
			answers <- answer{w.group, msg}
		}()
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if n := q.app.Waiting(); n != 9 {
			return fmt.Errorf("%d waiting, want 9", n)
		}
		return nil
	})
	active := q.active.Load()
	if _, watching := active.Waiters(); !watching {
		t.Fatal("no shared watch while queries wait")
	}
	for _, g := range []string{"C", "A", "B"} {
		if g == "C" {
			f.do("C", "o", group.Create{Name: "C"})
		} else {
			f.do(g, "o", group.Invite{UserIDs: []string{"x"}})
		}
		for range 3 {
			select {
			case a := <-answers:
				var gi GroupInfo
				if err := json.Unmarshal(a.msg.Data, &gi); err != nil || a.group != g || gi.GroupID != g {
					t.Fatalf("after %s changed: answer for %s: %s", g, a.group, a.msg.Data)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("waiters on %s not answered", g)
			}
		}
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		if n, watching := active.Waiters(); watching || n != 0 {
			return fmt.Errorf("watch still running with %d waiters", n)
		}
		return nil
	})
}
