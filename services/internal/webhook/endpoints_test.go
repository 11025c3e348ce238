package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func testKeyring(t *testing.T) *endpoint.Keyring {
	t.Helper()
	s, err := endpoint.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := endpoint.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	k, err := endpoint.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A reader of ROSTER_WEBHOOK_ENDPOINTS learns no secret, in any revision,
// while the dispatcher signs with it (it opens secrets in memory only).
func TestWebhookSecretsNotInBucket(t *testing.T) {
	h := newHarness(t)
	rv := newReceiver(t, ok)
	h.start(h.config(nil))
	nc := h.srv.NC
	var created, rotated webhook.EndpointReply
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "sealed", "url": rv.URL + "/hook"}, &created)
	mustOK(t, nc, webhook.SubjectPrefix+"rotate_secret", map[string]any{"actor": "ops", "id": "sealed", "grace": "1h"}, &rotated)
	var res webhook.TestReply
	mustOK(t, nc, webhook.SubjectPrefix+"test", map[string]any{"actor": "ops", "id": "sealed"}, &res)
	if !res.Success {
		t.Fatalf("test delivery failed: %+v", res)
	}
	ctx := context.Background()
	kv, err := h.srv.JS.KeyValue(ctx, endpoint.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := kv.History(ctx, "sealed")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist {
		for _, secret := range []string{created.Secret, rotated.Secret} {
			if bytes.Contains(e.Value(), []byte(secret)) || bytes.Contains(e.Value(), []byte(secret[len("whsec_"):])) {
				t.Fatalf("revision %d holds a secret: %s", e.Revision(), e.Value())
			}
		}
		if !bytes.Contains(e.Value(), []byte(`"sealed":"v1:`)) {
			t.Fatalf("revision %d has no sealed secret: %s", e.Revision(), e.Value())
		}
	}
	// The delivery carried two signatures (the rotation's grace) made with
	// the opened secrets.
	if got := rv.requests(); len(got) != 1 || len(bytes.Fields([]byte(got[0].Headers.Get("webhook-signature")))) != 2 {
		t.Fatalf("want one test delivery signed twice, have %d", len(got))
	}
}

// endpoint.delete racing updates of the same endpoint answers success,
// not_found or conflict, never internal.
func TestEndpointDeleteRacingUpdates(t *testing.T) {
	h := newHarness(t)
	h.start(h.config(nil))
	nc := h.srv.NC
	for round := range 4 {
		id := fmt.Sprintf("race%d", round)
		mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": id, "url": "https://example.com/hook"}, nil)
		var wg sync.WaitGroup
		codes := make(chan string, 64)
		for i := range 6 {
			wg.Go(func() {
				for j := range 4 {
					codes <- request(t, nc, webhook.SubjectPrefix+"update", map[string]any{"actor": "ops", "id": id, "description": fmt.Sprintf("%d-%d", i, j)}, nil)
				}
			})
		}
		wg.Go(func() {
			codes <- request(t, nc, webhook.SubjectPrefix+"delete", map[string]any{"actor": "ops", "id": id}, nil)
		})
		wg.Wait()
		close(codes)
		for code := range codes {
			switch events.Code(code) {
			case "", events.CodeNotFound, events.CodeConflict:
			default:
				t.Fatalf("round %d: answer %q", round, code)
			}
		}
		// Whatever won, a delete now leaves it gone.
		if code := request(t, nc, webhook.SubjectPrefix+"delete", map[string]any{"actor": "ops", "id": id}, nil); code != "" && code != string(events.CodeNotFound) {
			t.Fatalf("final delete: %s", code)
		}
	}
}

// endpoint.test calls run concurrently: a test stuck on a slow receiver
// does not hold up a test of another endpoint.
func TestEndpointTestsRunConcurrently(t *testing.T) {
	h := newHarness(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		once.Do(func() { close(entered) })
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	fast := newReceiver(t, ok)
	h.start(h.config(nil))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "slow", "url": slow.URL + "/hook", "timeout": "30s"}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "fast", "url": fast.URL + "/hook"}, nil)

	slowDone := make(chan webhook.TestReply, 1)
	go func() {
		msg, err := nc.Request(webhook.SubjectPrefix+"test", []byte(`{"actor":"ops","id":"slow"}`), 40*time.Second)
		var r webhook.TestReply
		if err == nil {
			_ = json.Unmarshal(msg.Data, &r)
		}
		slowDone <- r
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow receiver got no test request")
	}
	// The slow test is in flight and blocked; the fast one completes.
	var res webhook.TestReply
	mustOK(t, nc, webhook.SubjectPrefix+"test", map[string]any{"actor": "ops", "id": "fast"}, &res)
	if !res.Success {
		t.Fatalf("fast test: %+v", res)
	}
	select {
	case r := <-slowDone:
		t.Fatalf("the slow test finished before its receiver answered: %+v", r)
	default:
	}
	close(release)
	if r := <-slowDone; !r.Success {
		t.Fatalf("slow test: %+v", r)
	}
}
