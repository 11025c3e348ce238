package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/openimtest"
)

// appender writes commits to ROSTER_EVENTS the way the command service
// does, with events whose schema version 2 fields are all set (the
// domain fills them; here the test does, to hold every field's mapping).
type appender struct {
	t       *testing.T
	store   *eventstore.Store
	version uint64
}

func newAppender(t *testing.T, h *harness) *appender {
	s, err := h.srv.JS.Stream(context.Background(), events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	return &appender{t: t, store: eventstore.New(h.srv.JS, s)}
}

type change struct {
	typ   events.Type
	actor string
	data  any
}

// commit appends one command's events to group A.
func (a *appender) commit(command string, changes ...change) []events.Event {
	a.t.Helper()
	ctx := context.Background()
	c := events.Commit{CommandID: uuid.NewString(), Command: command, GroupID: "A"}
	for _, ch := range changes {
		raw, err := json.Marshal(ch.data)
		if err != nil {
			a.t.Fatal(err)
		}
		a.version++
		c.Events = append(c.Events, events.Event{ID: uuid.NewString(), Type: ch.typ, SchemaVersion: events.SchemaVersions[ch.typ],
			GroupID: "A", Version: a.version, OccurredAt: time.Now().UTC(), CommandID: c.CommandID, Actor: ch.actor, Data: raw})
	}
	last, err := a.store.LastSeq(ctx, "A")
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.store.Append(ctx, c, last); err != nil {
		a.t.Fatal(err)
	}
	return c.Events
}

// TestOpenIM38ReceiverIsNeverPaused runs a scenario with every operation
// Roster has against a receiver that behaves like an OpenIM 3.8 callback
// server: routes for its 9 group after-callbacks only (404 elsewhere),
// some answering actionCode 1 or an empty body. Under a health policy
// that pauses after 2 failures the endpoint is never paused; each
// request decodes into OpenIM's struct of its command; the kicks of one
// remove command arrive as one afterKickGroup; no extension route is
// called, except on an endpoint that names the extension's type.
func TestOpenIM38ReceiverIsNeverPaused(t *testing.T) {
	h := newHarness(t)
	h.startGroups() // provisions ROSTER_EVENTS
	im := &openimtest.Receiver38{Base: "/callback", Answer: func(cmd string, _ int) (int, string) {
		switch cmd {
		case "callbackAfterQuitGroupCommand":
			return http.StatusOK, `{"actionCode":1,"errCode":10001,"errMsg":"not today","errDlt":"","nextCode":0}`
		case "callbackAfterTransferGroupOwnerCommand":
			return http.StatusOK, ""
		}
		return http.StatusOK, `{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`
	}}
	imSrv := httptest.NewServer(im)
	t.Cleanup(imSrv.Close)
	named := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"actionCode":0}`)) })
	h.start(h.config(func(c *webhook.Config) { c.Health = delivery.HealthPolicy{MaxConsecutiveFailures: 2} }))
	nc := h.srv.NC
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": "ops", "id": "im", "url": imSrv.URL + "/callback", "format": "openim", "ordered": true,
	}, nil)
	mustOK(t, nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": "ops", "id": "named", "url": named.URL + "/callback", "format": "openim", "event_types": []string{"*", "member.invited"},
	}, nil)

	admin, approval := events.RoleAdmin, events.PolicyApproval
	a := newAppender(t, h)
	a.commit("group.create", change{events.GroupCreated, "o", events.GroupCreatedData{Name: "A", Intro: "i", JoinPolicy: events.PolicyOpen,
		Owner: "o", Admins: []string{"a1"}, Members: []string{"m1", "m2", "m3", "m4"}, Creator: "o", FaceURL: "f", Ex: "x", Notification: "n"}})
	a.commit("group.update", change{events.GroupUpdated, "o", events.GroupUpdatedData{Name: ptr("A2"), JoinPolicy: &approval}})
	a.commit("member.join", change{events.MemberJoined, "u1", events.MemberJoinedData{UserID: "u1", Source: events.JoinBySearch, Message: "hi"}})
	a.commit("member.invite", change{events.MemberInvited, "o", events.MemberInvitedData{UserID: "u2", Inviter: "o"}})
	kicks := a.commit("member.remove",
		change{events.MemberRemoved, "o", events.MemberRemovedData{UserID: "m1", By: "o", Reason: "spam"}},
		change{events.MemberRemoved, "o", events.MemberRemovedData{UserID: "m2", By: "o", Reason: "spam"}},
		change{events.MemberRemoved, "o", events.MemberRemovedData{UserID: "m3", By: "o", Reason: "spam"}})
	a.commit("member.quit", change{events.MemberQuit, "a1", events.MemberQuitData{UserID: "a1"}})
	a.commit("member.set_role", change{events.MemberRoleChanged, "o", events.MemberRoleChangedData{UserID: "m4", Role: events.RoleAdmin, Previous: events.RoleMember}})
	a.commit("member.set_info", change{events.MemberInfoChanged, "m4", events.MemberInfoChangedData{UserID: "m4", Nickname: ptr("Four")}})
	a.commit("member.set_info", change{events.MemberInfoChanged, "o", events.MemberInfoChangedData{UserID: "u1", Role: &admin, Previous: events.RoleMember}})
	a.commit("member.mute", change{events.MemberMuted, "o", events.MemberMutedData{UserID: "u1", Until: time.Now().Add(time.Hour).UTC()}})
	a.commit("group.mute", change{events.GroupMuted, "o", events.GroupMutedData{}})
	a.commit("group.transfer", change{events.GroupOwnershipTransferred, "o", events.GroupOwnershipTransferredData{From: "o", To: "m4"}})
	a.commit("group.dismiss", change{events.GroupDismissed, "m4", events.GroupDismissedData{Owner: "m4", Members: []string{"m4", "o", "u1"}}})

	want := []string{"callbackAfterCreateGroupCommand", "callbackAfterSetGroupInfoCommand", "callbackAfterJoinGroupCommand",
		"callbackAfterKickGroupCommand", "callbackAfterQuitGroupCommand", "callbackAfterSetGroupMemberInfoCommand",
		"callbackAfterSetGroupMemberInfoCommand", "callbackAfterSetGroupMemberInfoCommand", "callbackAfterTransferGroupOwnerCommand",
		"callbackAfterDisMissGroupCommand"}
	natstest.Eventually(t, 15*time.Second, func() error {
		if n := len(h.rec.attempts("im")); n < len(want) {
			return fmt.Errorf("%d attempts recorded, want %d", n, len(want))
		}
		return nil
	})
	reqs := im.Requests()
	var cmds []string
	for i, r := range reqs {
		if r.Status != http.StatusOK {
			t.Fatalf("request %d: %s answered %d: a route a 3.8 receiver lacks", i, r.Path, r.Status)
		}
		d, err := openimtest.Decode(r.Body)
		if err != nil {
			t.Fatalf("request %d (%s): %v\n%s", i, r.Path, err, r.Body)
		}
		if r.Path != "/callback/"+d.Command || r.Header.Get("operationID") != r.Header.Get("webhook-id") ||
			r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("request %d: %s %v", i, r.Path, r.Header)
		}
		cmds = append(cmds, d.Command)
		switch req := d.Req.(type) {
		case *openimtest.CallbackKillGroupMemberReq:
			if !slices.Equal(req.KickedUserIDs, []string{"m1", "m2", "m3"}) || req.Reason != "spam" || d.RosterEvent.ID != kicks[0].ID {
				t.Fatalf("kick: %+v (rosterEvent %s)", req, d.RosterEvent.ID)
			}
			if r.Header.Get("operationID") != delivery.MessageID("im", kicks[0].ID) {
				t.Fatalf("kick operationID %s", r.Header.Get("operationID"))
			}
		case *openimtest.CallbackAfterCreateGroupReq:
			if req.MemberCount != 6 || req.GroupType != 2 || req.NeedVerification != 2 || len(req.InitMemberList) != 6 {
				t.Fatalf("create: %+v", req.GroupInfo)
			}
		case *openimtest.CallbackAfterSetGroupInfoReq:
			if *req.NeedVerification != 0 || req.GroupName != "A2" || req.Ex != nil {
				t.Fatalf("set group info: %+v", req)
			}
		case *openimtest.CallbackDisMissGroupReq:
			if req.GroupType != "\u0002" || req.OwnerID != "m4" || len(req.MembersID) != 3 {
				t.Fatalf("dismiss: %+v", req)
			}
		}
	}
	if !slices.Equal(cmds, want) {
		t.Fatalf("the 3.8 receiver got\n%v\nwant (in order)\n%v", cmds, want)
	}

	var r webhook.EndpointReply
	mustOK(t, nc, webhook.SubjectPrefix+"get", map[string]any{"id": "im"}, &r)
	if r.Endpoint.Paused() {
		t.Fatalf("a 3.8 receiver was paused: %s", r.Endpoint.PausedReason)
	}
	var refused bool
	for _, at := range h.rec.attempts("im") {
		if !at.Success || at.Attempt != 1 {
			t.Fatalf("attempt %d of %s: success=%v class=%s", at.Attempt, at.EventType, at.Success, at.FailureClass)
		}
		if at.EventType == string(events.MemberQuit) {
			refused = strings.Contains(at.FailureMsg, "actionCode=1 errCode=10001")
		}
	}
	if !refused {
		t.Fatal("the receiver's actionCode 1 is not noted in the attempt")
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want exactly %d", len(reqs), len(want))
	}

	// The endpoint naming member.invited gets its extension callback, and
	// no other extension.
	natstest.Eventually(t, 10*time.Second, atLeast(len(want)+1, named))
	var ext []string
	for _, r := range named.requests() {
		cmd := strings.TrimPrefix(r.Path, "/callback/")
		if _, native := openimtest.After[cmd]; !native {
			ext = append(ext, cmd)
		}
		if _, err := openimtest.Decode(r.Body); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	if !slices.Equal(ext, []string{"callbackAfterInviteUserToGroupCommand"}) {
		t.Fatalf("extension routes called: %v", ext)
	}
}

func ptr[T any](v T) *T { return &v }
