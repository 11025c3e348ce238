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
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// crashRecorder passes records on and kills its dispatcher right after
// the n-th delivery attempt is recorded: the HTTP request was sent and
// its row stored, but the job is never acknowledged (a crash between the
// record and the ack).
type crashRecorder struct {
	next  *recorder
	n     int
	crash func()

	mu     sync.Mutex
	seen   int
	at     time.Time
	victim string // the attempt id recorded just before the crash
}

func (c *crashRecorder) Record(ctx context.Context, r audit.Record) error {
	return c.next.Record(ctx, r)
}

// RecordDurable is how the dispatcher stores attempts: the crash comes
// right after the n-th attempt's row is stored.
func (c *crashRecorder) RecordDurable(ctx context.Context, r audit.Record) error {
	if err := c.next.RecordDurable(ctx, r); err != nil {
		return err
	}
	a, ok := r.(audit.DeliveryAttempt)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen++; c.seen == c.n {
		c.crash()
		c.at, c.victim = time.Now(), a.ID
	}
	return nil
}

func (c *crashRecorder) crashed() (time.Time, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at, c.victim
}

// TestTakeoverAfterDispatcherDies runs two dispatchers with the default
// AckWait and FanoutAckWait. Dispatcher A is pinned to the fan-out and
// dies (its connections drop: no drain, no nak) right after it recorded
// a delivery it had not acknowledged yet, while events keep coming.
// Dispatcher B must take over A's unfinished deliveries and the fan-out
// within seconds; the request A sent before dying is sent again by B and
// the trail has a row for each, the second marked as a repeat (ADR 0026).
func TestTakeoverAfterDispatcherDies(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(10 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	})
	defaults := func(c *webhook.Config) { c.AckWait, c.FanoutAckWait = 0, 0 }

	// A has its own connection so that it can be killed alone.
	ncA := h.srv.Connect(t)
	jsA, err := jetstream.New(ncA)
	if err != nil {
		t.Fatal(err)
	}
	crash := &crashRecorder{next: h.rec, n: 3, crash: func() {
		ncA.Close()
	}}
	_, cancelA := h.startChecked(h.config(func(c *webhook.Config) {
		defaults(c)
		c.NC, c.JS, c.Audit = ncA, jsA, crash
	}), false)
	t.Cleanup(cancelA)

	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "tk", "url": rv.URL}, nil)
	var ids []string
	collect := func(raws []json.RawMessage) {
		for _, raw := range raws {
			var e events.Event
			_ = json.Unmarshal(raw, &e)
			ids = append(ids, e.ID)
		}
	}
	// A fans out and delivers the first event: it is the pinned one.
	collect(command(t, nc, "group.create", map[string]any{"group_id": "T", "actor": "o", "name": "T"}))
	natstest.Eventually(t, 10*time.Second, atLeast(1, rv))
	h.start(h.config(defaults))
	for i := range 20 {
		collect(command(t, nc, "member.invite", map[string]any{"group_id": "T", "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}}))
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if at, _ := crash.crashed(); at.IsZero() {
			return errors.New("dispatcher A has not crashed yet")
		}
		return nil
	})
	killed, victim := crash.crashed()
	// Events after the crash are fanned out once B is pinned.
	for i := 20; i < 25; i++ {
		collect(command(t, nc, "member.invite", map[string]any{"group_id": "T", "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}}))
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		seen := map[string]bool{}
		for _, r := range rv.requests() {
			seen[r.Headers.Get("webhook-id")] = true
		}
		for _, id := range ids {
			if !seen[delivery.MessageID("tk", id)] {
				return fmt.Errorf("event %s not delivered (%d of %d seen)", id, len(seen), len(ids))
			}
		}
		return nil
	})
	took := time.Since(killed)
	t.Logf("every event delivered %s after dispatcher A died", took.Round(10*time.Millisecond))
	// Default AckWait 6s and PinnedTTL 6.5s, plus a margin for the race
	// detector on a loaded machine.
	if took > 12*time.Second {
		t.Fatalf("takeover took %s, want within about 7s", took)
	}

	// The delivery A recorded but never acknowledged was sent again: two
	// rows, the second one a repeat.
	var victimEvent string
	for _, a := range h.rec.attempts("tk") {
		if a.ID == victim {
			victimEvent = a.EventID
		}
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		var rows []audit.DeliveryAttempt
		for _, a := range h.rec.attempts("tk") {
			if a.EventID == victimEvent {
				rows = append(rows, a)
			}
		}
		sent := 0
		for _, r := range rv.requests() {
			if r.Headers.Get("webhook-id") == delivery.MessageID("tk", victimEvent) {
				sent++
			}
		}
		if len(rows) != 2 || sent != 2 {
			return fmt.Errorf("event A crashed on: %d rows for %d requests, want 2 and 2", len(rows), sent)
		}
		if rows[0].ID != victim || rows[0].Repeat || !rows[1].Repeat || rows[1].ID == rows[0].ID || rows[1].Attempt != 1 {
			return fmt.Errorf("rows %+v: want A's row, then a repeat of attempt 1 under its own id", rows)
		}
		return nil
	})
	// No event has two rows that both claim to be the first request.
	first := map[string]int{}
	for _, a := range h.rec.attempts("tk") {
		if !a.Repeat {
			first[a.EventID]++
		}
	}
	for _, id := range ids {
		if first[id] > 1 {
			t.Errorf("event %s: %d rows not marked repeat, want at most 1", id, first[id])
		}
	}
}

// TestConsumersMoveToShortAckWait: consumers provisioned by a dispatcher of
// the 2-minute AckWait era are updated in place when a dispatcher with the
// current defaults starts, and starting again changes nothing.
func TestConsumersMoveToShortAckWait(t *testing.T) {
	h := newHarness(t)
	rv := newReceiver(t, ok)
	old := func(c *webhook.Config) { c.AckWait, c.FanoutAckWait = 2*time.Minute, 10*time.Second }
	_, stop := h.start(h.config(old))
	mustOK(t, h.srv.NC, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "aw", "url": rv.URL}, nil)
	ctx := context.Background()
	wantConsumers := func(ack, fanoutAck, pinned time.Duration) error {
		s, err := h.srv.JS.Stream(ctx, webhook.DeliveriesStream)
		if err != nil {
			return err
		}
		c, err := s.Consumer(ctx, "wh_aw")
		if err != nil {
			return err
		}
		ev, err := h.srv.JS.Stream(ctx, events.StreamName)
		if err != nil {
			return err
		}
		f, err := ev.Consumer(ctx, webhook.FanoutDurable)
		if err != nil {
			return err
		}
		have := [3]time.Duration{c.CachedInfo().Config.AckWait, f.CachedInfo().Config.AckWait, f.CachedInfo().Config.PinnedTTL}
		if want := [3]time.Duration{ack, fanoutAck, pinned}; have != want {
			return fmt.Errorf("ack wait, fan-out ack wait, pinned TTL: want %v, have %v", want, have)
		}
		return nil
	}
	natstest.Eventually(t, 5*time.Second, func() error { return wantConsumers(2*time.Minute, 10*time.Second, 17*time.Second) })
	stop()
	defaults := func(c *webhook.Config) { c.AckWait, c.FanoutAckWait = 0, 0 }
	for range 2 {
		_, stop := h.start(h.config(defaults))
		natstest.Eventually(t, 5*time.Second, func() error { return wantConsumers(6*time.Second, 3*time.Second, 6500*time.Millisecond) })
		stop()
	}
}

// TestCleanStopHandsOverFanoutAtOnce: a dispatcher that stops cleanly
// unpins itself after giving back its commits, so the other dispatcher
// fans out new commits at once rather than after PinnedTTL (6.5s).
func TestCleanStopHandsOverFanoutAtOnce(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, ok)
	defaults := func(c *webhook.Config) { c.AckWait, c.FanoutAckWait = 0, 0 }
	ncA := h.srv.Connect(t)
	jsA, err := jetstream.New(ncA)
	if err != nil {
		t.Fatal(err)
	}
	_, stopA := h.start(h.config(func(c *webhook.Config) { defaults(c); c.NC, c.JS = ncA, jsA }))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "hand", "url": rv.URL}, nil)
	// A fans out the first event: it is the pinned one.
	command(t, nc, "group.create", map[string]any{"group_id": "H", "actor": "o", "name": "H"})
	natstest.Eventually(t, 10*time.Second, atLeast(1, rv))
	h.start(h.config(defaults))
	stopA()
	stopped := time.Now()
	command(t, nc, "member.invite", map[string]any{"group_id": "H", "actor": "o", "user_ids": []string{"u"}})
	natstest.Eventually(t, 10*time.Second, atLeast(2, rv))
	took := time.Since(stopped)
	t.Logf("fan-out handed over %s after a clean stop", took.Round(10*time.Millisecond))
	if took > 4*time.Second {
		t.Fatalf("hand-over took %s, want well under PinnedTTL (6.5s)", took)
	}
}
