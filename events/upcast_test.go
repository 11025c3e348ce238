package events_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
)

// A member.muted event stored under schema version 1 (relative duration)
// reads as version 2 (absolute until) with the same meaning.
func TestUpcastStoredV1Fixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/member_muted_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var e events.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	up, data, err := events.Decode(e)
	if err != nil {
		t.Fatal(err)
	}
	if up.SchemaVersion != events.SchemaVersions[events.MemberMuted] {
		t.Fatalf("schema version: want %d, have %d", events.SchemaVersions[events.MemberMuted], up.SchemaVersion)
	}
	m, ok := data.(*events.MemberMutedData)
	if !ok {
		t.Fatalf("data type %T", data)
	}
	if want := time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC); m.UserID != "a" || !m.Until.Equal(want) {
		t.Fatalf("want a until %s, have %s until %s", want, m.UserID, m.Until)
	}
	if up.ID != e.ID || up.Version != e.Version || up.GroupID != e.GroupID {
		t.Fatal("upcasting changed the envelope")
	}
}

func TestUpcastRefusesUnknown(t *testing.T) {
	tests := []struct {
		name string
		e    events.Event
	}{
		{"unknown type", events.Event{Type: "member.teleported", SchemaVersion: 1}},
		{"newer than supported", events.Event{Type: events.MemberInvited, SchemaVersion: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := events.Upcast(tt.e); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestEveryTypeHasDataAndVersion(t *testing.T) {
	for _, ty := range events.AllTypes {
		if events.NewData(ty) == nil {
			t.Errorf("%s: no data type", ty)
		}
		if events.SchemaVersions[ty] < 1 {
			t.Errorf("%s: no schema version", ty)
		}
	}
	if len(events.SchemaVersions) != len(events.AllTypes) {
		t.Errorf("SchemaVersions has %d types, AllTypes %d", len(events.SchemaVersions), len(events.AllTypes))
	}
}

func TestValidateID(t *testing.T) {
	long := make([]byte, events.MaxIDLen+1)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"simple", "user_42-x", true},
		{"max length", string(long[:events.MaxIDLen]), true},
		{"empty", "", false},
		{"dot", "a.b", false},
		{"star", "a*", false},
		{"gt", ">", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"unicode", "héllo", false},
		{"too long", string(long), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := events.ValidateID("group_id", tt.id)
			if tt.ok != (err == nil) {
				t.Fatalf("want ok=%v, have %v", tt.ok, err)
			}
			if err != nil && !errors.Is(err, events.ErrInvalidArgument) {
				t.Fatalf("want invalid_argument, have %v", err)
			}
		})
	}
}
