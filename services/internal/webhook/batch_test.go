package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// backlog appends a group's create and n invites while no dispatcher
// runs, so that the next dispatcher's fan-out reads them in one batch and
// makes one job per endpoint for the group (ADR 0104). It returns the
// event ids in version order.
func backlog(t *testing.T, h *harness, group string, n int) []string {
	t.Helper()
	var ids []string
	collect := func(raws []json.RawMessage) {
		for _, raw := range raws {
			var e events.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
	}
	collect(command(t, h.srv.NC, "group.create", map[string]any{"group_id": group, "actor": "o", "name": group}))
	for i := range n {
		collect(command(t, h.srv.NC, "member.invite", map[string]any{"group_id": group, "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}}))
	}
	return ids
}

// eventOf reads the Roster event of a standard delivery.
func eventOf(t *testing.T, r received) events.Event {
	t.Helper()
	var body struct{ Data events.Event }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Data
}

// jobsStored is how many job messages ROSTER_WEBHOOK_DELIVERIES has
// stored so far (acknowledged ones included).
func jobsStored(t *testing.T, h *harness) uint64 {
	t.Helper()
	s, err := h.srv.JS.Stream(context.Background(), webhook.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// failing answers 503 to the first `times` requests for event id at
// endpoint epID and 204 to everything else.
func failing(epID, id string, times int) func(w http.ResponseWriter, r *http.Request) {
	var mu sync.Mutex
	left := times
	msgID := delivery.MessageID(epID, id)
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("webhook-id") == msgID && left > 0 {
			left--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// TestBatchWithFailingMiddleEvent: one group's backlog reaches each
// endpoint as one batched job. The receivers fail the middle event twice.
// Every other event is delivered exactly once; the failed one is retried
// alone (its attempts numbered 1, 2, 3 under one webhook-id, recorded
// retrying, retrying, succeeded); on the ordered endpoint every event
// after it waits for it, so the receiver sees the group in version order.
func TestBatchWithFailingMiddleEvent(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	_, stop := h.start(h.config(nil))
	nc := h.srv.NC
	unordered := newReceiver(t, ok)
	ordered := newReceiver(t, ok)
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "set", "url": unordered.URL}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "run", "url": ordered.URL, "ordered": true}, nil)
	stop()

	ids := backlog(t, h, "B", 8)
	middle := ids[len(ids)/2]
	unordered.set(failing("set", middle, 2))
	ordered.set(failing("run", middle, 2))
	h.start(h.config(nil))
	for _, rv := range []*receiver{unordered, ordered} {
		natstest.Eventually(t, 15*time.Second, atLeast(len(ids)+2, rv))
	}
	// A batched job per endpoint (more when the fan-out read the backlog
	// in several batches), then one retry job (unordered); the ordered
	// run keeps its place and needs none.
	if n := jobsStored(t, h); n >= uint64(len(ids)) {
		t.Fatalf("deliveries stream stored %d jobs for 2 x %d events, want them batched", n, len(ids))
	}
	for name, rv := range map[string]*receiver{"set": unordered, "run": ordered} {
		got := map[string]int{}
		var order []uint64
		for _, r := range rv.requests() {
			ev := eventOf(t, r)
			got[ev.ID]++
			if got[ev.ID] == 1 {
				order = append(order, ev.Version)
			}
		}
		for _, id := range ids {
			want := 1
			if id == middle {
				want = 3
			}
			if got[id] != want {
				t.Fatalf("%s: event %s received %d times, want %d", name, id, got[id], want)
			}
		}
		if name == "run" {
			for i, v := range order {
				if v != uint64(i+1) {
					t.Fatalf("ordered endpoint received versions %v, want 1..%d in order", order, len(ids))
				}
			}
			// After the middle event's first failure nothing later went
			// out before its success.
			var okMiddle time.Time
			reqs := rv.requests()
			for _, r := range reqs {
				if eventOf(t, r).ID == middle {
					okMiddle = r.At
				}
			}
			for _, r := range reqs {
				if ev := eventOf(t, r); ev.Version > uint64(len(ids)/2+1) && r.At.Before(okMiddle) {
					t.Fatalf("ordered endpoint: v%d sent before the failing v%d succeeded", ev.Version, len(ids)/2+1)
				}
			}
		}
		natstest.Eventually(t, 5*time.Second, func() error {
			var states []string
			for _, a := range h.rec.attempts(name) {
				if a.EventID == middle {
					states = append(states, fmt.Sprintf("%d:%s", a.Attempt, a.State))
				}
			}
			if want := "[1:retrying 2:retrying 3:succeeded]"; fmt.Sprint(states) != want {
				return fmt.Errorf("%s: middle event's attempts %v, want %s", name, states, want)
			}
			if n := len(h.rec.attempts(name)); n != len(ids)+2 {
				return fmt.Errorf("%s: %d attempt rows, want %d", name, n, len(ids)+2)
			}
			return nil
		})
	}
}

// TestBatchCrashBetweenPartialDeliveryAndAck: a dispatcher dies (its
// connection drops: no ack, no nak) after it delivered part of a batched
// job. The job comes back to the other dispatcher after AckWait, which
// delivers every event: nothing is lost, and what the dead one had sent
// is sent again under the same webhook-id (at least once).
func TestBatchCrashBetweenPartialDeliveryAndAck(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			h := newHarness(t)
			h.startGroups()
			rv := newReceiver(t, ok)
			_, stop := h.start(h.config(nil))
			mustOK(t, h.srv.NC, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "cr", "url": rv.URL, "ordered": ordered}, nil)
			stop()
			ids := backlog(t, h, "C", 9)

			ncA := h.srv.Connect(t)
			jsA, err := jetstream.New(ncA)
			if err != nil {
				t.Fatal(err)
			}
			// A dies for good: its connection drops and it stops, so it
			// can neither acknowledge nor hand back the job. The crash may
			// come before startChecked has returned stopA: the stop waits
			// for it.
			var stopA func()
			started := make(chan struct{})
			crash := &crashRecorder{next: h.rec, n: 4, crash: func() { ncA.Close(); go func() { <-started; stopA() }() }}
			// One HTTP slot: the batch's units go out one by one.
			fast := func(c *webhook.Config) { c.AckWait, c.FanoutAckWait, c.Concurrency = time.Second, time.Second, 1 }
			_, stopA = h.startChecked(h.config(func(c *webhook.Config) {
				fast(c)
				c.NC, c.JS, c.Audit = ncA, jsA, crash
			}), false)
			close(started)
			natstest.Eventually(t, 10*time.Second, func() error {
				if at, _ := crash.crashed(); at.IsZero() {
					return errors.New("dispatcher A has not crashed yet")
				}
				return nil
			})
			stopA()
			sentByA := len(rv.requests())
			if sentByA >= len(ids) {
				t.Fatalf("A sent %d of %d events before dying, want part of the batch", sentByA, len(ids))
			}
			h.start(h.config(fast))
			natstest.Eventually(t, 20*time.Second, func() error {
				got := map[string]bool{}
				for _, r := range rv.requests() {
					got[r.Headers.Get("webhook-id")] = true
				}
				seen := map[string]bool{}
				for _, r := range rv.requests() {
					seen[eventOf(t, r).ID] = true
				}
				for _, id := range ids {
					if !seen[id] {
						return fmt.Errorf("event %s not delivered yet (%d requests)", id, len(rv.requests()))
					}
				}
				if len(got) != len(ids) {
					return fmt.Errorf("%d webhook-ids for %d events", len(got), len(ids))
				}
				// B got A's unacknowledged job back: what A sent of it
				// is sent again (the fan-out may have split the backlog
				// into more than one job, so not necessarily all of it).
				if n := len(rv.requests()); n <= len(ids) {
					return fmt.Errorf("%d requests for %d events: want what A sent and never acknowledged sent again", n, len(ids))
				}
				return nil
			})
			if ordered {
				// B starts where A's acknowledged jobs end and sends the
				// rest of the group in version order. A request A had on
				// the wire when it stopped may reach the receiver after
				// sentByA was counted: B's requests are those from
				// connections A never used.
				reqs := rv.requests()
				fromA := map[string]bool{}
				for _, r := range reqs[:sentByA] {
					fromA[r.Remote] = true
				}
				var byB []received
				for _, r := range reqs[sentByA:] {
					if !fromA[r.Remote] {
						byB = append(byB, r)
					}
				}
				if len(byB) == 0 {
					t.Fatal("no request from B after the takeover")
				}
				first := eventOf(t, byB[0]).Version
				for i, r := range byB {
					if v := eventOf(t, r).Version; v != first+uint64(i) {
						t.Fatalf("after takeover B's request %d carries v%d, want v%d (version order)", i, v, first+uint64(i))
					}
				}
			}
		})
	}
}

// TestJobQueuedBeforeBatchingIsDelivered: a job as a dispatcher before
// ADR 0104 stored it (one event, no "more") is delivered after the
// upgrade, under its event's webhook-id.
func TestJobQueuedBeforeBatchingIsDelivered(t *testing.T) {
	h := newHarness(t)
	rv := newReceiver(t, ok)
	_, stop := h.start(h.config(nil))
	mustOK(t, h.srv.NC, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "old", "url": rv.URL}, nil)
	stop()
	const eventID = "01a233f0-0000-7000-8000-000000000001"
	old := `{"endpoint_id":"old","event":{"id":"` + eventID + `","type":"member.quit","schema_version":1,"group_id":"G",` +
		`"version":7,"occurred_at":"2026-01-01T00:00:00Z","command_id":"c1","actor":"u1","data":{"user_id":"u1"}},` +
		`"stream_seq":7,"trigger":"scheduled","enqueued_at":"2026-01-01T00:00:00Z"}`
	if _, err := h.srv.JS.Publish(context.Background(), webhook.DeliverySubject("old", "G"), []byte(old)); err != nil {
		t.Fatal(err)
	}
	h.start(h.config(nil))
	natstest.Eventually(t, 10*time.Second, atLeast(1, rv))
	r := rv.requests()[0]
	if got, want := r.Headers.Get("webhook-id"), delivery.MessageID("old", eventID); got != want {
		t.Fatalf("webhook-id %s, want %s", got, want)
	}
	if ev := eventOf(t, r); ev.ID != eventID || ev.Version != 7 {
		t.Fatalf("delivered %+v, want the queued event", ev)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		if a := h.rec.attempts("old"); len(a) != 1 || !a[0].Success || a[0].Attempt != 1 {
			return fmt.Errorf("attempt rows %+v, want one successful first attempt", a)
		}
		return nil
	})
}
