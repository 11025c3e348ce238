package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// TestBatchedFanoutKeepsGroupOrder: commands of several groups arrive
// concurrently, so the fan-out handles batches that hold many commits of
// one group. The ordered endpoint still receives each group's events in
// version order; the unordered one receives every event; a fresh job that
// succeeds at its first attempt leaves no attempt state behind, while a
// delivery that failed first has its success saved (ADR 0013).
func TestBatchedFanoutKeepsGroupOrder(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	ordered := newReceiver(t, ok)
	var mu sync.Mutex
	failedOnce := map[string]bool{}
	unordered := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		// The first attempt of the first three events fails once.
		id := r.Header.Get("webhook-id")
		mu.Lock()
		defer mu.Unlock()
		if _, seen := failedOnce[id]; !seen && len(failedOnce) < 3 {
			failedOnce[id] = true
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		failedOnce[id] = false
		w.WriteHeader(http.StatusNoContent)
	})
	h.start(h.config(func(c *webhook.Config) { c.FanoutBatch = 16 }))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "ord", "url": ordered.URL, "ordered": true}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "any", "url": unordered.URL}, nil)

	const groups, invites = 3, 25
	var wg sync.WaitGroup
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gid := fmt.Sprintf("G%d", g)
			command(t, nc, "group.create", map[string]any{"group_id": gid, "actor": "o", "name": gid})
			for i := range invites {
				command(t, nc, "member.invite", map[string]any{"group_id": gid, "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}})
			}
		}()
	}
	wg.Wait()
	const total = groups * (1 + invites)
	natstest.Eventually(t, 15*time.Second, atLeast(total, ordered))
	natstest.Eventually(t, 15*time.Second, atLeast(total+3, unordered)) // + three failed attempts

	last := map[string]uint64{}
	for i, r := range ordered.requests() {
		var body struct{ Data events.Event }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Data.Version != last[body.Data.GroupID]+1 {
			t.Fatalf("delivery %d: group %s v%d after v%d, want version order", i, body.Data.GroupID, body.Data.Version, last[body.Data.GroupID])
		}
		last[body.Data.GroupID] = body.Data.Version
	}
	if len(ordered.requests()) != total {
		t.Fatalf("ordered endpoint got %d requests, want exactly %d", len(ordered.requests()), total)
	}

	kv, err := h.srv.JS.KeyValue(context.Background(), webhook.JobsBucket)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		keys, err := kv.ListKeys(context.Background())
		if err != nil {
			return err
		}
		var n int
		for k := range keys.Keys() {
			n++
			e, err := kv.Get(context.Background(), k)
			if err != nil {
				return err
			}
			var st struct{ State string }
			_ = json.Unmarshal(e.Value(), &st)
			if st.State != webhook.StateSucceeded {
				return fmt.Errorf("state %s: %s, want succeeded", k, st.State)
			}
		}
		// Only the three deliveries that failed first keep state.
		if n != 3 {
			return fmt.Errorf("%d attempt states, want 3 (the failed-then-delivered events)", n)
		}
		return nil
	})
}

// TestUnreadableCommitIsParked: a message in ROSTER_EVENTS that is not a
// commit goes to ROSTER_WEBHOOK_POISON with the reason, and the fan-out
// goes on with the commits after it.
func TestUnreadableCommitIsParked(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, ok)
	h.start(h.config(nil))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "ep", "url": rv.URL}, nil)
	ctx := context.Background()
	// Another group's subject: the command service would refuse to load P.
	if _, err := h.srv.JS.Publish(ctx, events.Subject("X"), []byte(`{"not":"a commit"`)); err != nil {
		t.Fatal(err)
	}
	command(t, nc, "group.create", map[string]any{"group_id": "P", "actor": "o", "name": "P"})
	natstest.Eventually(t, 10*time.Second, atLeast(1, rv))
	s, err := h.srv.JS.Stream(ctx, webhook.PoisonStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("poison stream: %v", err)
	}
	if string(m.Data) != `{"not":"a commit"` || m.Header.Get("reason_poisoned") == "" || m.Header.Get("topic_poisoned") != events.Subject("X") {
		t.Fatalf("parked message: %s %v", m.Data, m.Header)
	}
}
