package webhook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/endpointkv"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

// TestErrorRepliesFollowTheEdge: roster-webhooks answers failures as every
// Roster service does (natsx/edge): the body {"error":{"code","message"}},
// a numeric Nats-Service-Error-Code, Nats-Service-Error "code: message",
// and "internal error" instead of an internal failure's detail.
func TestErrorRepliesFollowTheEdge(t *testing.T) {
	h := newHarness(t)
	// A record sealed with a key this dispatcher does not have: reading
	// it is an internal failure.
	sealed, err := endpointkv.Provision(context.Background(), h.srv.JS, 1, endpointtest.Keyring(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.Create(context.Background(), endpointtest.Valid(t, "sealed")); err != nil {
		t.Fatal(err)
	}
	h.start(h.config(func(c *webhook.Config) { c.SecretKeys = nil }))
	tests := []struct {
		name, subject, body string
		status, code, text  string
	}{
		{"not found", webhook.SubjectPrefix + "get", `{"id":"nope"}`, "404", "not_found", `"nope": endpoint not found`},
		{"invalid", webhook.SubjectPrefix + "pause", `{"id":"x"}`, "400", "invalid_argument", "actor"},
		{"too large", webhook.SubjectPrefix + "create", `{"url":"` + strings.Repeat("x", webhook.MaxRequestBytes) + `"}`, "400", "invalid_argument", "larger than"},
		{"internal", webhook.SubjectPrefix + "get", `{"id":"sealed"}`, "500", "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := h.srv.NC.Request(tt.subject, []byte(tt.body), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(msg.Data, &body); err != nil {
				t.Fatalf("body %s: %v", msg.Data, err)
			}
			if body.Error.Code != tt.code || !strings.Contains(body.Error.Message, tt.text) {
				t.Fatalf("body: want code %s with %q, have %s", tt.code, tt.text, msg.Data)
			}
			if tt.code == "internal" && body.Error.Message != "internal error" {
				t.Fatalf("an internal failure's detail reached the caller: %q", body.Error.Message)
			}
			if have := msg.Header.Get(micro.ErrorCodeHeader); have != tt.status {
				t.Fatalf("%s: want %s, have %q", micro.ErrorCodeHeader, tt.status, have)
			}
			if want, have := tt.code+": "+body.Error.Message, msg.Header.Get(micro.ErrorHeader); have != want {
				t.Fatalf("%s: want %q, have %q", micro.ErrorHeader, want, have)
			}
		})
	}
}
