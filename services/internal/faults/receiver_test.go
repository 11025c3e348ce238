//go:build slow

package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint on loopback: it records every request's
// webhook-id and the event it carries, and answers 200.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests int
	byEvent  map[string]int    // event id -> requests carrying it
	ids      map[string]string // webhook-id -> event id
	problems []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{byEvent: map[string]int{}, ids: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct {
		Type string `json:"type"`
		Data struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"data"`
	}
	wid := req.Header.Get("webhook-id")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := json.Unmarshal(body, &msg); err != nil || msg.Data.ID == "" || wid == "" {
		r.problems = append(r.problems, fmt.Sprintf("unreadable delivery (webhook-id %q): %v: %.200s", wid, err, body))
		w.WriteHeader(http.StatusOK)
		return
	}
	if prev, ok := r.ids[wid]; ok && prev != msg.Data.ID {
		r.problems = append(r.problems, fmt.Sprintf("webhook-id %s carried events %s and %s", wid, prev, msg.Data.ID))
	}
	r.ids[wid] = msg.Data.ID
	r.byEvent[msg.Data.ID]++
	w.WriteHeader(http.StatusOK)
}

// missing returns how many of ids the receiver has not seen, and one of them.
func (r *receiver) missing(ids map[string]bool) (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, one := 0, ""
	for id := range ids {
		if r.byEvent[id] == 0 {
			n++
			one = id
		}
	}
	return n, one
}

type receiverStats struct {
	requests, events, redelivered int
	extra                         []string
	problems                      []string
}

// stats compares what arrived with the stream's event ids.
func (r *receiver) stats(ids map[string]bool) receiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := receiverStats{requests: r.requests, events: len(r.byEvent), problems: append([]string(nil), r.problems...)}
	for id, n := range r.byEvent {
		if n > 1 {
			s.redelivered++
		}
		if !ids[id] {
			s.extra = append(s.extra, id)
		}
	}
	return s
}

// createEndpoint registers a standard-format endpoint for every event,
// with a short retry schedule so a failed attempt comes back within the
// test's settle time.
func (h *harness) createEndpoint(t *testing.T, id string, r *receiver) {
	t.Helper()
	out, err := h.request("roster.webhook.endpoint.create", map[string]any{
		"actor": "ops", "id": id, "url": r.srv.URL + "/hook/" + id,
		"retry_schedule": []string{"0s", "1s", "2s", "5s", "10s", "20s"},
	}, 60*time.Second)
	if err != nil {
		t.Fatalf("create endpoint %s: %v", id, err)
	}
	var rep struct {
		Endpoint struct {
			ID string `json:"id"`
		} `json:"endpoint"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || rep.Endpoint.ID != id {
		t.Fatalf("create endpoint %s: %s (%v)", id, out, err)
	}
}
