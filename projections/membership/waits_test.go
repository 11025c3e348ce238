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
	"github.com/rosterhq/roster/projections/internal/testnats"
)

// plainQueryBound is the generous bound a plain query must answer within
// while waits are parked (it takes about a millisecond on its own).
const plainQueryBound = 500 * time.Millisecond

// TestWaitingQueriesNeverTakePlainQueriesWorkers: with more queries parked
// on min_version than there are workers, and with hundreds of absurd
// min_version queries arriving, a plain query still answers fast; one wait
// more than the wait pool holds is refused at once; the parked queries are
// answered when the version arrives.
func TestWaitingQueriesNeverTakePlainQueriesWorkers(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	const workers, waiters = 8, 24
	nc, js := f.srv.Connect(t)
	q, err := NewQueries(QueryConfig{NC: nc, JS: js, Log: testLog(t), MaxWait: 30 * time.Second,
		MaxInFlight: workers, MaxWaiting: waiters})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q.Run)
	testnats.Eventually(t, 10*time.Second, func() error {
		if q.active.Load() == nil {
			return errors.New("no active generation yet")
		}
		return nil
	})
	v := f.do("G", "o", group.Create{Name: "G"})
	testnats.Eventually(t, 10*time.Second, func() error {
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
	testnats.Eventually(t, 10*time.Second, func() error {
		if n := len(q.waiting); n != waiters {
			return fmt.Errorf("%d queries parked, want %d", n, waiters)
		}
		return nil
	})

	timed := func(name string, req any, wantCode events.Code) time.Duration {
		t.Helper()
		begin := time.Now()
		e := f.query(SubjectGroup, req, nil)
		took := time.Since(begin)
		switch {
		case wantCode == "" && e != nil:
			t.Fatalf("%s: %s: %s", name, e.Code, e.Message)
		case wantCode != "" && (e == nil || e.Code != string(wantCode)):
			t.Fatalf("%s: want %s, have %+v", name, wantCode, e)
		}
		if took > plainQueryBound {
			t.Fatalf("%s took %s, want under %s", name, took, plainQueryBound)
		}
		return took
	}
	timed("one wait more than the pool holds", GroupRequest{GroupID: "G", MinVersion: v + 1}, events.CodeUnavailable)

	// The load: hundreds of min_version 2^64-1 queries at once.
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
	var slowest time.Duration
	for i := range 50 {
		slowest = max(slowest, timed(fmt.Sprintf("plain query %d", i), GroupRequest{GroupID: "G"}, ""))
	}
	t.Logf("slowest of 50 plain queries with %d parked waits and 300 absurd ones: %s", waiters, slowest)
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
	timed("far ahead of the group", GroupRequest{GroupID: "G", MinVersion: v + DefaultMaxVersionAhead + 1}, events.CodeInvalidArgument)
	timed("beyond 2^53", GroupRequest{GroupID: "G", MinVersion: MaxMinVersion + 1}, events.CodeInvalidArgument)

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
	if len(q.waiting) != 0 || len(q.workers) != 0 {
		t.Fatalf("slots leaked: %d waiting, %d workers", len(q.waiting), len(q.workers))
	}
}
