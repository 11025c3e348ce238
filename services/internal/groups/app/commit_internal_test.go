package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/schemas/schematest"
)

// Events the domain actually produces validate against the envelope and
// their data schemas; so does the commit they travel in.
func TestProducedEventsValidate(t *testing.T) {
	st := group.New("A")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cmds := []struct {
		actor string
		cmd   group.Command
	}{
		{"o", group.Create{Name: "A", JoinPolicy: events.PolicyApproval, Members: []string{"m"}, Admins: []string{"ad"},
			FaceURL: "f", Ex: "e", Notification: "n", LookMemberInfo: 1, ApplyMemberFriend: 1,
			Admissions: map[string]events.Admission{"m": {Profile: events.Profile{Nickname: "M"}, Role: events.RoleMember, MutedUntil: ptr(now.Add(time.Hour))}}}},
		{"o", group.Invite{UserIDs: []string{"a"}, Reason: "r", Admissions: map[string]events.Admission{"a": {Profile: events.Profile{Ex: "x"}}}}},
		{"o", group.SetRole{UserID: "a", Role: events.RoleAdmin}},
		{"o", group.SetInfo{UserID: "ad", Nickname: ptr("Ad"), Role: ptr(events.RoleMember)}},
		{"x", group.Join{Message: "hi", Source: events.JoinByQRCode, Ex: "e"}},
		{"a", group.Approve{UserID: "x", Admission: &events.Admission{Role: events.RoleAdmin}}},
		{"o", group.Update{JoinPolicy: ptr(events.PolicyAllApproval), FaceURL: ptr("g"), Notification: ptr("")}},
		{"m", group.Invite{UserIDs: []string{"z"}, Reason: "friend"}},
		{"a", group.Approve{UserID: "z"}},
		{"y", group.Join{}},
		{"a", group.Reject{UserID: "y", Reason: "no"}},
		{"a", group.MuteMember{UserID: "m", Duration: time.Minute}},
		{"a", group.UnmuteMember{UserID: "m"}},
		{"a", group.Remove{UserIDs: []string{"z"}, Reason: "spam"}},
		{"m", group.Quit{}},
		{"o", group.MuteGroup{}},
		{"o", group.UnmuteGroup{}},
		{"o", group.Update{Name: ptr("B")}},
		{"o", group.Transfer{NewOwner: "a"}},
		{"a", group.Dismiss{}},
	}
	envelope := schematest.Compile(t, "event.json")
	commitSchema := schematest.Compile(t, "commit.json")
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
		if err := schematest.Validate(t, commitSchema, cb); err != nil {
			t.Fatalf("commit %s: %v", cb, err)
		}
		for _, e := range commit.Events {
			eb, _ := json.Marshal(e)
			if err := schematest.Validate(t, envelope, eb); err != nil {
				t.Fatalf("envelope %s: %v", eb, err)
			}
			if err := schematest.Validate(t, schematest.Compile(t, "events/"+string(e.Type)+".json"), e.Data); err != nil {
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
