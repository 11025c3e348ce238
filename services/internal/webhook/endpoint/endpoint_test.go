package endpoint_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func valid(t *testing.T) endpoint.Endpoint {
	s, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return endpoint.Endpoint{ID: "ep1", URL: "https://hooks.example.com/x", EventTypes: []string{"*"},
		Format: endpoint.FormatStandard, Secrets: []endpoint.Secret{{Value: s}},
		Timeout: endpoint.Duration(15 * time.Second), State: endpoint.StateActive}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*endpoint.Endpoint)
		wantErr string
	}{
		{"valid", func(*endpoint.Endpoint) {}, ""},
		{"bad id", func(e *endpoint.Endpoint) { e.ID = "a.b" }, "subject-safe"},
		{"no scheme", func(e *endpoint.Endpoint) { e.URL = "hooks.example.com" }, "scheme"},
		{"user info", func(e *endpoint.Endpoint) { e.URL = "https://u:p@h.example" }, "user info"},
		{"unknown type", func(e *endpoint.Endpoint) { e.EventTypes = []string{"member.exploded"} }, "event_types[0]"},
		{"unknown namespace", func(e *endpoint.Endpoint) { e.EventTypes = []string{"user.*"} }, "event_types[0]"},
		{"bad group id", func(e *endpoint.Endpoint) { e.GroupIDs = []string{"a b"} }, "group_ids"},
		{"bad format", func(e *endpoint.Endpoint) { e.Format = "xml" }, "format"},
		{"bad secret", func(e *endpoint.Endpoint) { e.Secrets[0].Value = "nope" }, "secrets[0]"},
		{"timeout", func(e *endpoint.Endpoint) { e.Timeout = endpoint.Duration(time.Hour) }, "timeout"},
		{"rate", func(e *endpoint.Endpoint) { e.RateLimit = -1 }, "rate_limit"},
		{"schedule", func(e *endpoint.Endpoint) { e.RetrySchedule = []endpoint.Duration{-1} }, "retry_schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid(t)
			tt.mod(&e)
			err := e.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("want error containing %q, have %v", tt.wantErr, err)
			}
			for _, sec := range e.Secrets {
				if err != nil && strings.Contains(err.Error(), sec.Value) {
					t.Fatal("an error quotes a secret")
				}
			}
		})
	}
	// Every problem is reported at once.
	e := valid(t)
	e.URL, e.Format = "ftp://x", "xml"
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "scheme") || !strings.Contains(err.Error(), "format") {
		t.Fatalf("want both problems, have %v", err)
	}
}

func TestWants(t *testing.T) {
	ev := events.Event{Type: events.MemberInvited, GroupID: "G"}
	tests := []struct {
		name   string
		types  []string
		groups []string
		want   bool
	}{
		{"all", []string{"*"}, nil, true},
		{"namespace", []string{"member.*"}, nil, true},
		{"other namespace", []string{"group.*"}, nil, false},
		{"exact", []string{"member.invited"}, nil, true},
		{"exact other", []string{"member.joined"}, nil, false},
		{"group filter hit", []string{"*"}, []string{"G"}, true},
		{"group filter miss", []string{"*"}, []string{"H"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := endpoint.Endpoint{EventTypes: tt.types, GroupIDs: tt.groups}
			if have := e.Wants(ev); have != tt.want {
				t.Fatalf("want %v, have %v", tt.want, have)
			}
		})
	}
}

// An openim endpoint gets an event without an OpenIM 3.8 after-callback
// only when a pattern names its type exactly (ADR 0084).
func TestWantsOpenIMExtensionsOnlyByName(t *testing.T) {
	tests := []struct {
		typ   events.Type
		types []string
		want  bool
	}{
		{events.MemberInvited, []string{"*"}, false},
		{events.MemberInvited, []string{"member.*"}, false},
		{events.MemberInvited, []string{"*", "member.invited"}, true},
		{events.GroupMuted, []string{"group.*", "member.invited"}, false},
		{events.MemberJoinApproved, []string{"member.join_approved"}, true},
		{events.MemberRemoved, []string{"*"}, true},
		{events.MemberInfoChanged, []string{"member.*"}, true},
		{events.GroupCreated, []string{"member.*"}, false},
	}
	for _, tt := range tests {
		ev := events.Event{Type: tt.typ, GroupID: "G"}
		e := endpoint.Endpoint{EventTypes: tt.types, Format: endpoint.FormatOpenIM}
		if have := e.Wants(ev); have != tt.want {
			t.Fatalf("openim %v wants %s: %v, want %v", tt.types, tt.typ, have, tt.want)
		}
		// The standard format is not filtered.
		e.Format = endpoint.FormatStandard
		if !e.Wants(ev) && (slices.Contains(tt.types, "*") || slices.Contains(tt.types, string(tt.typ))) {
			t.Fatalf("standard %v does not want %s", tt.types, tt.typ)
		}
	}
}

func TestActiveKeysAndRedacted(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	e := valid(t)
	s2, _ := delivery.GenerateSecret()
	s3, _ := delivery.GenerateSecret()
	e.Secrets = append(e.Secrets, endpoint.Secret{Value: s2, ExpiresAt: &future}, endpoint.Secret{Value: s3, ExpiresAt: &past})
	if n := len(e.ActiveKeys(now)); n != 2 {
		t.Fatalf("want 2 active keys (the expired one dropped), have %d", n)
	}
	for _, s := range e.Redacted().Secrets {
		if s.Value != "" {
			t.Fatal("Redacted kept a secret")
		}
	}
	if e.Secrets[0].Value == "" {
		t.Fatal("Redacted changed the original")
	}
}
