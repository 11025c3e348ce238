package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/app"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/openimtest"
)

// TestSeedScenarioOpenIMReceiver replays the OpenIM seed failure: a
// receiver answering `{"actionCode":0}Callback ok`. Every command succeeds
// at once; the attempts are invalid_response; the endpoint is paused after
// the threshold with an alert; once the receiver is fixed and the endpoint
// resumed, every event arrives in order under its stable id.
func TestSeedScenarioOpenIMReceiver(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"actionCode":0}Callback ok`))
	})
	alerts, err := h.srv.NC.SubscribeSync(webhook.AlertPausedSubject)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := h.start(h.config(func(c *webhook.Config) {
		c.Health = delivery.HealthPolicy{MaxConsecutiveFailures: 3}
	}))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": "ops", "id": "openim", "url": rv.URL + "/callback", "format": "openim", "ordered": true,
		// OpenIM 3.8 has no after-callback for an invite: an openim
		// endpoint gets Roster's only when it names the type.
		"event_types": []string{"*", "member.invited"},
	}, nil)

	// The seed: create, invite, kick, re-invite. All succeed immediately.
	var evs []events.Event
	for _, c := range []struct {
		name string
		req  map[string]any
	}{
		{"group.create", map[string]any{"group_id": "A", "actor": "o", "name": "Group A", "members": []string{"a"}}},
		{"member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"b"}}},
		{"member.remove", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"b"}}},
		{"member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"b"}}},
	} {
		for _, raw := range command(t, nc, c.name, c.req) {
			var e events.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
	}

	// Paused after three invalid responses, with an alert.
	natstest.Eventually(t, 10*time.Second, func() error {
		var r webhook.EndpointReply
		mustOK(t, nc, webhook.SubjectPrefix+"get", map[string]any{"id": "openim"}, &r)
		if !r.Endpoint.Paused() {
			return fmt.Errorf("endpoint state %s", r.Endpoint.State)
		}
		return nil
	})
	msg, err := alerts.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no alert on %s: %v", webhook.AlertPausedSubject, err)
	}
	var alert webhook.Alert
	if err := json.Unmarshal(msg.Data, &alert); err != nil || alert.EndpointID != "openim" || !strings.Contains(alert.Reason, "invalid_response") {
		t.Fatalf("alert: %s (%v)", msg.Data, err)
	}
	bad := h.rec.attempts("openim")
	if len(bad) < 3 {
		t.Fatalf("want at least 3 attempts before the pause, have %d", len(bad))
	}
	for _, a := range bad {
		if a.Success || a.FailureClass != string(delivery.ClassInvalidResponse) {
			t.Fatalf("attempt %d: want invalid_response, have success=%v class=%q", a.Attempt, a.Success, a.FailureClass)
		}
		if a.EventID != evs[0].ID {
			t.Fatalf("ordered endpoint attempted %s before the group's first event", a.EventID)
		}
	}
	if !slices.ContainsFunc(h.rec.changes("openim"), func(c audit.EndpointChange) bool { return c.Change == "paused" && c.Automatic }) {
		t.Fatal("no automatic pause in the audit trail")
	}
	// Held, not dropped: every event is still queued. Jobs batch the
	// events of one group that one fan-out batch carried (ADR 0104), so
	// the queue holds 1 to len(evs) job messages; what they carry is what
	// must be whole.
	natstest.Eventually(t, 5*time.Second, func() error {
		if n, err := d.QueueDepth(context.Background(), "openim"); err != nil || n < 1 || n > uint64(len(evs)) {
			return fmt.Errorf("queue depth %d (%v), want 1 to %d job messages", n, err, len(evs))
		}
		if got := queuedEvents(t, h, "openim"); !slices.Equal(got, eventIDs(evs)) {
			return fmt.Errorf("queued events %v, want %v", got, eventIDs(evs))
		}
		return nil
	})
	failedRequests := len(rv.requests())

	// Fix the receiver and resume.
	rv.set(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`))
	})
	mustOK(t, nc, webhook.SubjectPrefix+"resume", map[string]any{"actor": "ops", "id": "openim"}, nil)
	natstest.Eventually(t, 10*time.Second, atLeast(failedRequests+len(evs), rv))

	good := rv.requests()[failedRequests:]
	if len(good) != len(evs) {
		t.Fatalf("want exactly %d deliveries after resume, have %d", len(evs), len(good))
	}
	wantCmds := []string{"callbackAfterCreateGroupCommand", "callbackAfterInviteUserToGroupCommand",
		"callbackAfterKickGroupCommand", "callbackAfterInviteUserToGroupCommand"}
	for i, r := range good {
		var body struct {
			CallbackCommand string       `json:"callbackCommand"`
			GroupID         string       `json:"groupID"`
			Event           events.Event `json:"rosterEvent"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if _, err := openimtest.Decode(r.Body); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		wantID := delivery.MessageID("openim", evs[i].ID)
		switch {
		case body.Event.ID != evs[i].ID || body.Event.Version != evs[i].Version:
			t.Fatalf("delivery %d: event %s v%d, want %s v%d (in order)", i, body.Event.ID, body.Event.Version, evs[i].ID, evs[i].Version)
		case r.Headers.Get("operationID") != wantID || r.Headers.Get("webhook-id") != wantID:
			t.Fatalf("delivery %d: header %q, want stable %q", i, r.Headers.Get("operationID"), wantID)
		case r.Path != "/callback/"+body.CallbackCommand || body.CallbackCommand != wantCmds[i]:
			t.Fatalf("delivery %d: POST %s command %s, want /callback/%s", i, r.Path, body.CallbackCommand, wantCmds[i])
		case body.GroupID != "A":
			t.Fatalf("delivery %d: groupID %q", i, body.GroupID)
		}
	}
	// The failed attempts carried the same id as the successful one.
	for _, r := range rv.requests()[:failedRequests] {
		if have := r.Headers.Get("operationID"); have != delivery.MessageID("openim", evs[0].ID) {
			t.Fatalf("failed attempt carried id %q", have)
		}
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		n := 0
		for _, a := range h.rec.attempts("openim") {
			if a.Success {
				n++
				if a.Trigger != webhook.TriggerResume {
					return fmt.Errorf("attempt after resume has trigger %q", a.Trigger)
				}
			}
		}
		if n != len(evs) {
			return fmt.Errorf("%d successes recorded, want %d", n, len(evs))
		}
		return nil
	})
}

// TestStandardSignaturesVerify checks every delivery with the Standard
// Webhooks reference verifier, across a secret rotation.
func TestStandardSignaturesVerify(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, ok)
	h.start(h.config(nil))
	nc := h.srv.NC
	var created webhook.EndpointReply
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "std", "url": rv.URL + "/hook"}, &created)
	oldSecret := created.Secret
	if !strings.HasPrefix(oldSecret, "whsec_") || created.Endpoint.Secrets[0].Value != "" {
		t.Fatalf("create must return the generated secret once and redact it in the endpoint: %+v", created)
	}
	command(t, nc, "group.create", map[string]any{"group_id": "S", "actor": "o", "name": "S"})
	command(t, nc, "member.invite", map[string]any{"group_id": "S", "actor": "o", "user_ids": []string{"a"}})
	natstest.Eventually(t, 10*time.Second, atLeast(2, rv))

	var rotated webhook.EndpointReply
	mustOK(t, nc, webhook.SubjectPrefix+"rotate_secret", map[string]any{"actor": "ops", "id": "std", "grace": "1h"}, &rotated)
	newSecret := rotated.Secret
	command(t, nc, "member.invite", map[string]any{"group_id": "S", "actor": "o", "user_ids": []string{"b"}})
	natstest.Eventually(t, 10*time.Second, atLeast(3, rv))

	oldWH, _ := standardwebhooks.NewWebhook(oldSecret)
	newWH, _ := standardwebhooks.NewWebhook(newSecret)
	for i, r := range rv.requests() {
		var p delivery.StandardPayload
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		if have, want := r.Headers.Get("webhook-id"), delivery.MessageID("std", p.Data.ID); have != want {
			t.Fatalf("delivery %d: webhook-id %q, want %q", i, have, want)
		}
		if err := oldWH.Verify(r.Body, r.Headers); err != nil {
			t.Fatalf("delivery %d does not verify with the old secret: %v", i, err)
		}
		if i == 2 {
			if err := newWH.Verify(r.Body, r.Headers); err != nil {
				t.Fatalf("delivery after rotation does not verify with the new secret: %v", err)
			}
			if n := len(strings.Fields(r.Headers.Get("webhook-signature"))); n != 2 {
				t.Fatalf("want 2 signatures during the rotation, have %d", n)
			}
		}
	}
	// Changes take effect without restart: narrow the filter to group.*.
	mustOK(t, nc, webhook.SubjectPrefix+"update", map[string]any{"actor": "ops", "id": "std", "event_types": []string{"group.*"}}, nil)
	command(t, nc, "member.invite", map[string]any{"group_id": "S", "actor": "o", "user_ids": []string{"c"}})
	command(t, nc, "group.update", map[string]any{"group_id": "S", "actor": "o", "name": "S2"})
	natstest.Eventually(t, 10*time.Second, atLeast(4, rv))
	var p delivery.StandardPayload
	_ = json.Unmarshal(rv.requests()[3].Body, &p)
	if p.Type != string(events.GroupUpdated) || len(rv.requests()) != 4 {
		t.Fatalf("after narrowing the filter want only group.updated, have %q (%d requests)", p.Type, len(rv.requests()))
	}
}

// TestHangingEndpointDoesNotDelayOthers: ten healthy endpoints get every
// event before the one hanging endpoint's first attempt has even timed out.
func TestHangingEndpointDoesNotDelayOthers(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	release := make(chan struct{})
	hang := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	h.start(h.config(nil))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "hang", "url": hang.URL, "timeout": "4s"}, nil)
	var healthy []*receiver
	for i := range 10 {
		rv := newReceiver(t, ok)
		healthy = append(healthy, rv)
		mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": fmt.Sprintf("ok%d", i), "url": rv.URL}, nil)
	}
	start := time.Now()
	users := make([]string, 20)
	for i := range users {
		users[i] = fmt.Sprintf("u%d", i)
	}
	n := len(command(t, nc, "group.create", map[string]any{"group_id": "H", "actor": "o", "name": "H"}))
	n += len(command(t, nc, "member.invite", map[string]any{"group_id": "H", "actor": "o", "user_ids": users}))
	for i := range 9 {
		n += len(command(t, nc, "member.invite", map[string]any{"group_id": "H", "actor": "o", "user_ids": []string{fmt.Sprintf("v%d", i)}}))
	}
	for _, rv := range healthy {
		natstest.Eventually(t, 3*time.Second, atLeast(n, rv))
	}
	if took := time.Since(start); took > 3500*time.Millisecond {
		t.Fatalf("healthy endpoints took %s", took)
	}
	if len(hang.requests()) == 0 {
		t.Fatal("the hanging endpoint was never tried")
	}
	for _, a := range h.rec.attempts("hang") {
		if a.Success {
			t.Fatal("the hanging endpoint cannot have succeeded")
		}
	}
}

// TestCrashSafety stops a dispatcher mid-stream and starts another: every
// event is delivered and each delivery's success is recorded once, besides
// repeats marked as such.
func TestCrashSafety(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	})
	// Dispatcher A has its own connection so it can be killed: the
	// connection drops (no acks, no nacks) and its context ends.
	ncA := h.srv.Connect(t)
	jsA, err := jetstream.New(ncA)
	if err != nil {
		t.Fatal(err)
	}
	_, cancelA := h.startChecked(h.config(func(c *webhook.Config) { c.NC, c.JS = ncA, jsA }), false)
	stopA := func() { ncA.Close(); cancelA() }
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "crash", "url": rv.URL, "ordered": true}, nil)
	var ids []string
	collect := func(raws []json.RawMessage) {
		for _, raw := range raws {
			var e events.Event
			_ = json.Unmarshal(raw, &e)
			ids = append(ids, e.ID)
		}
	}
	collect(command(t, nc, "group.create", map[string]any{"group_id": "C", "actor": "o", "name": "C"}))
	for i := range 30 {
		collect(command(t, nc, "member.invite", map[string]any{"group_id": "C", "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}}))
		if i == 15 {
			natstest.Eventually(t, 10*time.Second, atLeast(5, rv))
			stopA() // mid-stream: deliveries and fan-out in flight
		}
	}
	h.start(h.config(nil))
	natstest.Eventually(t, 20*time.Second, func() error {
		seen := map[string]bool{}
		for _, r := range rv.requests() {
			seen[r.Headers.Get("webhook-id")] = true
		}
		for _, id := range ids {
			if !seen[delivery.MessageID("crash", id)] {
				return fmt.Errorf("event %s not delivered (%d of %d seen)", id, len(seen), len(ids))
			}
		}
		return nil
	})
	// Let any stray redelivery settle, then count recorded successes per
	// event (the audit tables deduplicate on the attempt id). At most one
	// is not marked repeat: a request A sent and recorded but never
	// acknowledged was sent again by B, whose row is a repeat; a request
	// cut off by A's crash before it was recorded leaves only B's, also a
	// repeat (A may have sent it) (ADR 0026).
	natstest.Eventually(t, 5*time.Second, func() error {
		first := map[string]map[string]bool{}
		repeats := map[string]int{}
		for _, a := range h.rec.attempts("crash") {
			switch {
			case a.Success && a.Repeat:
				repeats[a.EventID]++
			case a.Success:
				if first[a.EventID] == nil {
					first[a.EventID] = map[string]bool{}
				}
				first[a.EventID][a.ID] = true
			}
		}
		for _, id := range ids {
			if n := len(first[id]); n > 1 || n+repeats[id] == 0 {
				return fmt.Errorf("event %s: %d successful attempts not marked repeat and %d repeats, want 1 or only repeats", id, n, repeats[id])
			}
		}
		return nil
	})
}

// TestExhaustedThenRedeliver: a failing endpoint exhausts its schedule;
// redeliver sends the event again under the same webhook-id.
func TestExhaustedThenRedeliver(t *testing.T) {
	h := newHarness(t)
	h.startGroups()
	rv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600") // clamped to the schedule's bounds
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	d, _ := h.start(h.config(nil))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "ex", "url": rv.URL,
		"retry_schedule": []string{"0s", "10ms", "10ms"}}, nil)
	evs := command(t, nc, "group.create", map[string]any{"group_id": "X", "actor": "o", "name": "X"})
	var ev events.Event
	_ = json.Unmarshal(evs[0], &ev)
	natstest.Eventually(t, 10*time.Second, func() error {
		as := h.rec.attempts("ex")
		if len(as) != 3 || as[2].State != webhook.StateExhausted {
			return fmt.Errorf("%d attempts", len(as))
		}
		for _, a := range as {
			if a.FailureClass != string(delivery.ClassHTTP5xx) || a.ResponseStatus != 503 {
				return fmt.Errorf("attempt class %q status %d", a.FailureClass, a.ResponseStatus)
			}
		}
		return nil
	})
	natstest.Eventually(t, 5*time.Second, func() error {
		if n, err := d.QueueDepth(context.Background(), "ex"); err != nil || n != 0 {
			return fmt.Errorf("queue depth %d %v", n, err)
		}
		return nil
	})
	rv.set(ok)
	var rr webhook.RedeliverReply
	mustOK(t, nc, webhook.SubjectRedeliver, map[string]any{"actor": "ops", "endpoint_id": "ex", "since_seq": 1}, &rr)
	if rr.Enqueued != 1 {
		t.Fatalf("redeliver enqueued %d, want 1", rr.Enqueued)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		for _, a := range h.rec.attempts("ex") {
			if a.Success && a.Trigger == webhook.TriggerRedelivery && a.Attempt == 1 {
				return nil
			}
		}
		return fmt.Errorf("no successful redelivery yet")
	})
	want := delivery.MessageID("ex", ev.ID)
	for _, r := range rv.requests() {
		if r.Headers.Get("webhook-id") != want {
			t.Fatalf("webhook-id %q, want the stable %q", r.Headers.Get("webhook-id"), want)
		}
	}
	// A redelivery by time works too.
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mustOK(t, nc, webhook.SubjectRedeliver, fmt.Sprintf(`{"actor":"ops","endpoint_id":"ex","since":%q}`, since), &rr)
	if rr.Enqueued != 1 {
		t.Fatalf("redeliver by time enqueued %d, want 1", rr.Enqueued)
	}
}

// TestSSRFRefusedWithoutAllowlist: a dispatcher without an allowlist
// refuses a loopback receiver and never contacts it.
func TestSSRFRefusedWithoutAllowlist(t *testing.T) {
	h := newHarness(t)
	rv := newReceiver(t, ok)
	h.start(h.config(func(c *webhook.Config) { c.AllowCIDRs = nil }))
	nc := h.srv.NC
	for _, u := range []string{rv.URL, strings.Replace(rv.URL, "127.0.0.1", "localhost", 1),
		"http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://100.64.0.1/", "http://[fd00:ec2::254]/", "http://[fe80::1]/"} {
		id := fmt.Sprintf("ssrf%d", len(h.rec.attempts("")))
		mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "s" + fmt.Sprint(time.Now().UnixNano()), "url": u}, nil)
		_ = id
	}
	var list webhook.ListReply
	mustOK(t, nc, webhook.SubjectPrefix+"list", `{}`, &list)
	for _, ep := range list.Endpoints {
		var tr webhook.TestReply
		mustOK(t, nc, webhook.SubjectPrefix+"test", map[string]any{"actor": "ops", "id": ep.ID}, &tr)
		if tr.Success || tr.FailureClass != string(delivery.ClassBlockedAddress) {
			t.Fatalf("%s: want blocked_address, have success=%v class=%q (%s)", ep.URL, tr.Success, tr.FailureClass, tr.FailureMsg)
		}
	}
	if len(rv.requests()) != 0 {
		t.Fatal("a refused receiver was contacted")
	}
}

// TestServiceRejectsBadInput: bad requests get typed errors and change
// nothing.
func TestServiceRejectsBadInput(t *testing.T) {
	h := newHarness(t)
	h.start(h.config(nil))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{"actor": "ops", "id": "dup", "url": "https://example.com/hook"}, nil)
	tests := []struct {
		name string
		verb string
		req  any
		want events.Code
	}{
		{"malformed json", "create", `{`, events.CodeInvalidArgument},
		{"trailing data", "create", `{"actor":"a","url":"https://x.example"} x`, events.CodeInvalidArgument},
		{"unknown field", "create", `{"actor":"a","url":"https://x.example","bogus":1}`, events.CodeInvalidArgument},
		{"missing actor", "create", map[string]any{"url": "https://x.example"}, events.CodeInvalidArgument},
		{"bad scheme", "create", map[string]any{"actor": "a", "url": "ftp://x.example"}, events.CodeInvalidArgument},
		{"credentials in url", "create", map[string]any{"actor": "a", "url": "https://u:p@x.example"}, events.CodeInvalidArgument},
		{"unknown event type", "create", map[string]any{"actor": "a", "url": "https://x.example", "event_types": []string{"nope"}}, events.CodeInvalidArgument},
		{"bad format", "create", map[string]any{"actor": "a", "url": "https://x.example", "format": "xml"}, events.CodeInvalidArgument},
		{"id not subject-safe", "create", map[string]any{"actor": "a", "id": "a.b", "url": "https://x.example"}, events.CodeInvalidArgument},
		{"bad secret", "create", map[string]any{"actor": "a", "url": "https://x.example", "secret": "abc"}, events.CodeInvalidArgument},
		{"timeout too long", "create", map[string]any{"actor": "a", "url": "https://x.example", "timeout": "10m"}, events.CodeInvalidArgument},
		{"duplicate id", "create", map[string]any{"actor": "a", "id": "dup", "url": "https://x.example"}, events.CodeAlreadyExists},
		{"get unknown", "get", map[string]any{"id": "nope"}, events.CodeNotFound},
		{"update unknown", "update", map[string]any{"actor": "a", "id": "nope", "ordered": true}, events.CodeNotFound},
		{"update invalid", "update", map[string]any{"actor": "a", "id": "dup", "url": "gopher://x"}, events.CodeInvalidArgument},
		{"pause without actor", "pause", map[string]any{"id": "dup"}, events.CodeInvalidArgument},
		{"rotate bad grace", "rotate_secret", map[string]any{"actor": "a", "id": "dup", "grace": "-1h"}, events.CodeInvalidArgument},
		{"delete unknown", "delete", map[string]any{"actor": "a", "id": "nope"}, events.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if have := request(t, nc, webhook.SubjectPrefix+tt.verb, tt.req, nil); have != string(tt.want) {
				t.Fatalf("want %s, have %q", tt.want, have)
			}
		})
	}
	redeliver := []struct {
		name string
		req  any
		want events.Code
	}{
		{"no since", map[string]any{"actor": "a", "endpoint_id": "dup"}, events.CodeInvalidArgument},
		{"both since", map[string]any{"actor": "a", "endpoint_id": "dup", "since_seq": 1, "since": time.Now()}, events.CodeInvalidArgument},
		{"unknown endpoint", map[string]any{"actor": "a", "endpoint_id": "nope", "since_seq": 1}, events.CodeNotFound},
	}
	for _, tt := range redeliver {
		t.Run("redeliver "+tt.name, func(t *testing.T) {
			if have := request(t, nc, webhook.SubjectRedeliver, tt.req, nil); have != string(tt.want) {
				t.Fatalf("want %s, have %q", tt.want, have)
			}
		})
	}
	var list webhook.ListReply
	mustOK(t, nc, webhook.SubjectPrefix+"list", `{}`, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].ID != "dup" || list.Endpoints[0].URL != "https://example.com/hook" {
		t.Fatalf("bad requests changed something: %+v", list.Endpoints)
	}
	// Lifecycle: pause, resume, delete are audited and never leak secrets.
	mustOK(t, nc, webhook.SubjectPrefix+"pause", map[string]any{"actor": "ops", "id": "dup", "reason": "maintenance"}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"resume", map[string]any{"actor": "ops", "id": "dup"}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"delete", map[string]any{"actor": "ops", "id": "dup"}, nil)
	var kinds []string
	for _, c := range h.rec.changes("dup") {
		kinds = append(kinds, c.Change)
		if strings.Contains(c.Endpoint, "whsec_") {
			t.Fatal("an audit row carries a secret")
		}
	}
	if want := []string{"created", "paused", "resumed", "deleted"}; !slices.Equal(kinds, want) {
		t.Fatalf("endpoint changes: want %v, have %v", want, kinds)
	}
	if code := request(t, nc, webhook.SubjectPrefix+"get", map[string]any{"id": "dup"}, nil); code != string(events.CodeNotFound) {
		t.Fatalf("deleted endpoint: want not_found, have %q", code)
	}
	_ = endpoint.Bucket
}

// queuedEvents is the ids of the events the jobs queued for endpointID
// carry, in stream order (read by sequence: a work-queue stream refuses a
// second consumer overlapping the dispatcher's).
func queuedEvents(t *testing.T, h *harness, endpointID string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := h.srv.JS.Stream(ctx, webhook.DeliveriesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // acknowledged, or a gap
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.Subject, webhook.DeliverySubjectPrefix+endpointID+".") {
			continue
		}
		var j app.Job
		if err := json.Unmarshal(m.Data, &j); err != nil {
			t.Fatalf("job %d: %v", seq, err)
		}
		for _, u := range j.Units() {
			ids = append(ids, u.Event.ID)
		}
	}
	return ids
}

func eventIDs(evs []events.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}
