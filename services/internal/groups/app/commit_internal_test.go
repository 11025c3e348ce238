package app

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/schemas"
)

func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	paths := []string{path}
	if path != "event.json" {
		paths = append(paths, "event.json")
	}
	for _, p := range paths {
		raw, err := schemas.JSON(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("https://roster.dev/schemas/"+p, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://roster.dev/schemas/" + path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// Events the domain actually produces validate against the envelope and
// their data schemas; so does the commit they travel in.
func TestProducedEventsValidate(t *testing.T) {
	st := group.New("A")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cmds := []struct {
		actor string
		cmd   group.Command
	}{
		{"o", group.Create{Name: "A", JoinPolicy: events.PolicyApproval, Members: []string{"m"}}},
		{"o", group.Invite{UserIDs: []string{"a"}}},
		{"o", group.SetRole{UserID: "a", Role: events.RoleAdmin}},
		{"x", group.Join{Message: "hi"}},
		{"a", group.Approve{UserID: "x"}},
		{"y", group.Join{}},
		{"a", group.Reject{UserID: "y", Reason: "no"}},
		{"a", group.MuteMember{UserID: "m", Duration: time.Minute}},
		{"a", group.UnmuteMember{UserID: "m"}},
		{"a", group.Remove{UserIDs: []string{"x"}}},
		{"m", group.Quit{}},
		{"o", group.MuteGroup{}},
		{"o", group.UnmuteGroup{}},
		{"o", group.Update{Name: ptr("B")}},
		{"o", group.Transfer{NewOwner: "a"}},
		{"a", group.Dismiss{}},
	}
	envelope := compileSchema(t, "event.json")
	commitSchema := compileSchema(t, "commit.json")
	seen := map[events.Type]bool{}
	for i, c := range cmds {
		changes, err := group.Decide(st, c.actor, c.cmd, now)
		if err != nil {
			t.Fatalf("%s: %v", c.cmd.Kind(), err)
		}
		cmd := Command{Name: c.cmd.Kind(), GroupID: "A", Actor: c.actor, CommandID: "c" + string(rune('a'+i)), CorrelationID: "corr", Change: c.cmd}
		commit, err := buildCommit(st, cmd, changes, now)
		if err != nil {
			t.Fatal(err)
		}
		cb, _ := json.Marshal(commit)
		if err := validate(t, commitSchema, cb); err != nil {
			t.Fatalf("commit %s: %v", cb, err)
		}
		for _, e := range commit.Events {
			eb, _ := json.Marshal(e)
			if err := validate(t, envelope, eb); err != nil {
				t.Fatalf("envelope %s: %v", eb, err)
			}
			if err := validate(t, compileSchema(t, "events/"+string(e.Type)+".json"), e.Data); err != nil {
				t.Fatalf("data of %s %s: %v", e.Type, e.Data, err)
			}
			if _, err := st.Apply(e); err != nil {
				t.Fatal(err)
			}
			seen[e.Type] = true
		}
	}
	for _, ty := range events.AllTypes {
		if !seen[ty] && ty != events.MemberJoined {
			t.Errorf("event type %s not exercised", ty)
		}
	}
}

func ptr[T any](v T) *T { return &v }
