package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/ports"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func memberIDs(r MembersReply) []string {
	var ids []string
	for _, m := range r.Members {
		ids = append(ids, m.UserID)
	}
	slices.Sort(ids)
	return ids
}

// The seed scenario: create A (owner o); invite a; remove a; invite a.
func TestSeedScenario(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()

	steps := []struct {
		name string
		cmd  group.Command
		want []string
	}{
		{"create", group.Create{Name: "Group A", JoinPolicy: events.PolicyInviteOnly}, []string{"o"}},
		{"invite a", group.Invite{UserIDs: []string{"a"}}, []string{"a", "o"}},
		{"remove a", group.Remove{UserIDs: []string{"a"}}, []string{"o"}},
		{"re-invite a", group.Invite{UserIDs: []string{"a"}}, []string{"a", "o"}},
	}
	for _, st := range steps {
		v := f.do("A", "o", st.cmd)
		var have MembersReply
		// min_version: read your own write without polling.
		if e := f.query(SubjectMembers, MembersRequest{GroupID: "A", MinVersion: v}, &have); e != nil {
			t.Fatalf("%s: members: %+v", st.name, e)
		}
		if !slices.Equal(memberIDs(have), st.want) || have.Version != v {
			t.Fatalf("%s: want %v at version %d, have %v at %d", st.name, st.want, v, memberIDs(have), have.Version)
		}
	}

	var info GroupInfo
	if e := f.query(SubjectGroup, GroupRequest{GroupID: "A"}, &info); e != nil {
		t.Fatal(e)
	}
	if info.Owner != "o" || info.MemberCount != 2 || info.Version != 4 || info.JoinPolicy != events.PolicyInviteOnly || info.Name != "Group A" {
		t.Fatalf("group info: %+v", info)
	}

	var a MemberReply
	if e := f.query(SubjectMember, MemberRequest{GroupID: "A", UserID: "a"}, &a); e != nil {
		t.Fatal(e)
	}
	if a.Role != events.RoleMember || a.Inviter != "o" || a.JoinedVersion != 4 {
		t.Fatalf("member a: %+v", a)
	}

	var ch ChangesReply
	if e := f.query(SubjectChanges, ChangesRequest{GroupID: "A", SinceVersion: 1}, &ch); e != nil {
		t.Fatal(e)
	}
	var types []events.Type
	for _, e := range ch.Changes {
		types = append(types, e.Type)
	}
	if want := []events.Type{events.MemberInvited, events.MemberRemoved, events.MemberInvited}; !slices.Equal(types, want) || ch.More || ch.NextSinceVersion != 4 {
		t.Fatalf("changes since 1: want %v, have %v (more %v, next %d)", want, types, ch.More, ch.NextSinceVersion)
	}

	for at, want := range map[uint64][]string{1: {"o"}, 2: {"a", "o"}, 3: {"o"}, 4: {"a", "o"}} {
		var have MembersReply
		if e := f.query(SubjectMembers, MembersRequest{GroupID: "A", AtVersion: at}, &have); e != nil {
			t.Fatal(e)
		}
		if !slices.Equal(memberIDs(have), want) {
			t.Fatalf("at_version %d: want %v, have %v", at, want, memberIDs(have))
		}
	}

	var ug UserGroupsReply
	if e := f.query(SubjectUserGroups, UserGroupsRequest{UserID: "a"}, &ug); e != nil {
		t.Fatal(e)
	}
	if len(ug.Groups) != 1 || ug.Groups[0].GroupID != "A" || ug.Groups[0].JoinedVersion != 4 {
		t.Fatalf("user groups of a: %+v", ug)
	}
	f.caughtUp(1, 10*time.Second)
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	var users []string
	for i := range 25 {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	f.do("P", "o", group.Create{Name: "P", JoinPolicy: events.PolicyOpen})
	f.do("P", "o", group.Invite{UserIDs: users})
	v := f.do("P", "o", group.SetRole{UserID: "u03", Role: events.RoleAdmin})
	for i := range 3 {
		f.do(fmt.Sprintf("Q%d", i), "u07", group.Create{Name: "Q"})
	}

	collect := func(req MembersRequest) []string {
		var ids []string
		for page := 0; ; page++ {
			var r MembersReply
			if e := f.query(SubjectMembers, req, &r); e != nil {
				t.Fatalf("page %d: %+v", page, e)
			}
			if len(r.Members) > req.Limit {
				t.Fatalf("page %d: %d members, limit %d", page, len(r.Members), req.Limit)
			}
			for _, m := range r.Members {
				ids = append(ids, m.UserID)
			}
			if r.NextCursor == "" {
				break
			}
			req.Cursor = r.NextCursor
		}
		slices.Sort(ids)
		return ids
	}
	want := append(slices.Clone(users), "o")
	slices.Sort(want)
	if have := collect(MembersRequest{GroupID: "P", Limit: 7, MinVersion: v}); !slices.Equal(have, want) {
		t.Fatalf("live pages: want %v, have %v", want, have)
	}
	if have := collect(MembersRequest{GroupID: "P", Limit: 4, AtVersion: v}); !slices.Equal(have, want) {
		t.Fatalf("at_version pages: want %v, have %v", want, have)
	}
	if have := collect(MembersRequest{GroupID: "P", Limit: 2, Role: events.RoleAdmin}); !slices.Equal(have, []string{"u03"}) {
		t.Fatalf("admins: have %v", have)
	}

	// changes: pages of 10 over 26 events after version 0 (the create is one event).
	var all []uint64
	req := ChangesRequest{GroupID: "P", Limit: 10}
	for {
		var r ChangesReply
		if e := f.query(SubjectChanges, req, &r); e != nil {
			t.Fatal(e)
		}
		for _, e := range r.Changes {
			all = append(all, e.Version)
		}
		if !r.More {
			break
		}
		req.Cursor = r.NextCursor
	}
	if len(all) != 27 || all[0] != 1 || all[26] != 27 {
		t.Fatalf("changes versions: %v", all)
	}

	natstest.Eventually(t, 5*time.Second, func() error {
		var ug UserGroupsReply
		if e := f.query(SubjectUserGroups, UserGroupsRequest{UserID: "u07", Limit: 2}, &ug); e != nil {
			return fmt.Errorf("%+v", e)
		}
		n := len(ug.Groups)
		for ug.NextCursor != "" {
			cur := ug.NextCursor
			ug = UserGroupsReply{}
			if e := f.query(SubjectUserGroups, UserGroupsRequest{UserID: "u07", Limit: 2, Cursor: cur}, &ug); e != nil {
				return fmt.Errorf("%+v", e)
			}
			n += len(ug.Groups)
		}
		if n != 4 {
			return fmt.Errorf("u07 in %d groups, want 4", n)
		}
		return nil
	})
}

func TestQueryErrors(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	v := f.do("G", "o", group.Create{Name: "G"})
	tests := []struct {
		name    string
		subject string
		req     any
		code    events.Code
	}{
		{"malformed json", SubjectGroup, `{"group_id":`, events.CodeInvalidArgument},
		{"unknown field", SubjectGroup, `{"group_id":"G","extra":1}`, events.CodeInvalidArgument},
		{"trailing data", SubjectGroup, `{"group_id":"G"} {}`, events.CodeInvalidArgument},
		{"trailing brace", SubjectGroup, `{"group_id":"G"}}`, events.CodeInvalidArgument},
		{"name in another case", SubjectGroup, `{"GROUP_ID":"G"}`, events.CodeInvalidArgument},
		{"duplicate name", SubjectMember, `{"group_id":"G","user_id":"o","group_id":"H"}`, events.CodeInvalidArgument},
		{"invalid UTF-8", SubjectGroup, "{\"group_id\":\"G\xff\"}", events.CodeInvalidArgument},
		{"null", SubjectMembers, `{"group_id":"G","cursor":null}`, events.CodeInvalidArgument},
		{"unsafe group id", SubjectMembers, MembersRequest{GroupID: "G.>"}, events.CodeInvalidArgument},
		{"wildcard user id", SubjectMember, MemberRequest{GroupID: "G", UserID: "*"}, events.CodeInvalidArgument},
		{"empty user id", SubjectUserGroups, UserGroupsRequest{}, events.CodeInvalidArgument},
		{"bad role", SubjectMembers, MembersRequest{GroupID: "G", Role: "king"}, events.CodeInvalidArgument},
		{"limit too big", SubjectMembers, MembersRequest{GroupID: "G", Limit: MaxPageSize + 1}, events.CodeInvalidArgument},
		{"bad cursor", SubjectMembers, MembersRequest{GroupID: "G", Cursor: "zzz"}, events.CodeInvalidArgument},
		{"bad changes cursor", SubjectChanges, ChangesRequest{GroupID: "G", Cursor: "s12"}, events.CodeInvalidArgument},
		{"min_version without group", SubjectUserGroups, UserGroupsRequest{UserID: "o", MinVersion: 1}, events.CodeInvalidArgument},
		{"oversize", SubjectGroup, `{"group_id":"` + string(make([]byte, ports.MaxRequestBytes)) + `"}`, events.CodeInvalidArgument},
		{"unknown group", SubjectGroup, GroupRequest{GroupID: "nope"}, events.CodeNotFound},
		{"not a member", SubjectMember, MemberRequest{GroupID: "G", UserID: "x"}, events.CodeNotFound},
		{"changes of unknown group", SubjectChanges, ChangesRequest{GroupID: "nope"}, events.CodeNotFound},
		{"at_version ahead", SubjectMembers, MembersRequest{GroupID: "G", AtVersion: v + 5, MinVersion: v}, events.CodeFailedPrecondition},
		{"min_version never reached", SubjectGroup, GroupRequest{GroupID: "G", MinVersion: v + 1}, events.CodeTimeout},
		{"min_version on unknown group", SubjectMember, MemberRequest{GroupID: "later", UserID: "o", MinVersion: 1}, events.CodeTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := f.query(tc.subject, tc.req, nil)
			if e == nil || e.Code != string(tc.code) || e.Message == "" {
				t.Fatalf("want error %s, have %+v", tc.code, e)
			}
		})
	}
}

// TestErrorHeadersFollowTheEdge: roster-query's failure headers are the
// one convention of natsx/edge (ADR 0065): a numeric Nats-Service-Error-Code
// and "<code>: <message>" (the string code was in the header before).
func TestErrorHeadersFollowTheEdge(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	v := f.do("G", "o", group.Create{Name: "G"})
	for _, tc := range []struct {
		name, subject string
		req           any
		status        string
		code          events.Code
	}{
		{"invalid", SubjectGroup, `{"group_id":`, "400", events.CodeInvalidArgument},
		{"not found", SubjectGroup, GroupRequest{GroupID: "nope"}, "404", events.CodeNotFound},
		{"failed precondition", SubjectMembers, MembersRequest{GroupID: "G", AtVersion: v + 5, MinVersion: v}, "412", events.CodeFailedPrecondition},
		{"timeout", SubjectGroup, GroupRequest{GroupID: "G", MinVersion: v + 1}, "504", events.CodeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ok := tc.req.(string)
			if !ok {
				b, err := json.Marshal(tc.req)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			msg, err := f.nc.Request(tc.subject, []byte(body), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var env struct{ Error replyErr }
			if err := json.Unmarshal(msg.Data, &env); err != nil {
				t.Fatal(err)
			}
			if have := msg.Header.Get(micro.ErrorCodeHeader); have != tc.status {
				t.Fatalf("%s: want %s, have %q", micro.ErrorCodeHeader, tc.status, have)
			}
			if want, have := string(tc.code)+": "+env.Error.Message, msg.Header.Get(micro.ErrorHeader); env.Error.Code != string(tc.code) || have != want {
				t.Fatalf("%s: want %q, have %q (body %s)", micro.ErrorHeader, want, have, msg.Data)
			}
		})
	}
}

// History reads (at_version, changes) delete their ordered consumer when
// they finish: many of them leave only the projector's durable consumer
// on ROSTER_EVENTS, not one each until the server expires it.
func TestHistoryReadsLeaveNoConsumer(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	f.do("H", "o", group.Create{Name: "H", JoinPolicy: events.PolicyOpen})
	v := f.do("H", "o", group.Invite{UserIDs: []string{"a", "b"}})
	f.caughtUp(1, 10*time.Second)
	consumers := func() int {
		info, err := f.stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Consumers
	}
	before := consumers()
	for range 40 {
		var m MembersReply
		if e := f.query(SubjectMembers, MembersRequest{GroupID: "H", AtVersion: v}, &m); e != nil {
			t.Fatal(e)
		}
		var c ChangesReply
		if e := f.query(SubjectChanges, ChangesRequest{GroupID: "H"}, &c); e != nil {
			t.Fatal(e)
		}
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		if have := consumers(); have > before {
			return fmt.Errorf("consumers on %s: %d before 80 history reads, %d after", events.StreamName, before, have)
		}
		return nil
	})
}

// TestQueryMetrics: roster-query counts requests by endpoint and code on
// the registry it is given.
func TestQueryMetrics(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	reg := prometheus.NewRegistry()
	nc, js := f.srv.ConnectJS(t)
	q, err := NewQueries(QueryConfig{NC: nc, JS: js, Log: testLog(t), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	start(t, q.Run)
	natstest.WaitEndpoints(t, f.nc, ServiceName, 5)
	natstest.Eventually(t, 10*time.Second, func() error {
		if e := f.query(SubjectGroup, GroupRequest{GroupID: "nope"}, nil); e == nil || e.Code != string(events.CodeNotFound) {
			return fmt.Errorf("reply %+v, want not_found", e)
		}
		return nil
	})
	natstest.Eventually(t, 5*time.Second, func() error {
		mfs, err := reg.Gather()
		if err != nil {
			return err
		}
		for _, mf := range mfs {
			if mf.GetName() != "roster_query_requests_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["endpoint"] == "group" && labels["code"] == "not_found" && m.GetCounter().GetValue() >= 1 {
					return nil
				}
			}
		}
		return errors.New("no roster_query_requests_total{endpoint=group,code=not_found}")
	})
}

// OpenIM's group model (issue 12) end to end: the fields a command sets are
// in the query replies of roster-query, raw as the wire carries them.
func TestQueriesShowOpenIMFields(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	f.do("B", "o", group.Create{Name: "B", JoinPolicy: events.PolicyAllApproval, Admins: []string{"ad"}, Members: []string{"m"},
		FaceURL: "https://f/b.png", Ex: "gx", Notification: "read me", LookMemberInfo: 1, ApplyMemberFriend: 1})
	f.do("B", "m", group.Invite{UserIDs: []string{"f"}})
	f.do("B", "ad", group.Approve{UserID: "f"})
	f.do("B", "f", group.SetInfo{UserID: "f", Nickname: ptr("Eff 名前"), Ex: ptr("fx")})
	v := f.do("B", "o", group.MuteGroup{})

	var info map[string]any
	if e := f.query(SubjectGroup, GroupRequest{GroupID: "B", MinVersion: v}, &info); e != nil {
		t.Fatal(e)
	}
	for k, want := range map[string]any{"creator": "o", "face_url": "https://f/b.png", "ex": "gx", "notification": "read me",
		"notification_user_id": "o", "look_member_info": 1.0, "apply_member_friend": 1.0, "status": 3.0} {
		if info[k] != want {
			t.Errorf("group %s: want %v, have %v", k, want, info[k])
		}
	}
	if _, ok := info["notification_updated_at"].(string); !ok {
		t.Errorf("group notification_updated_at: %v", info["notification_updated_at"])
	}
	var mb map[string]any
	if e := f.query(SubjectMember, MemberRequest{GroupID: "B", UserID: "f", MinVersion: v}, &mb); e != nil {
		t.Fatal(e)
	}
	for k, want := range map[string]any{"nickname": "Eff 名前", "ex": "fx", "join_source": 2.0, "inviter": "ad", "inviter_user_id": "m"} {
		if mb[k] != want {
			t.Errorf("member %s: want %v, have %v", k, want, mb[k])
		}
	}
	var ad map[string]any
	if e := f.query(SubjectMember, MemberRequest{GroupID: "B", UserID: "ad", MinVersion: v}, &ad); e != nil {
		t.Fatal(e)
	}
	if ad["role"] != "admin" || ad["inviter"] != "o" || ad["inviter_user_id"] != "o" || ad["join_source"] != 2.0 {
		t.Errorf("admin named at creation: %v", ad)
	}
}
