package groups_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// startService runs a roster-groups process on its own connection, stopped
// when the test ends (or when the returned stop is called).
func startService(t *testing.T, srv *natstest.Server, mod func(*groups.Config)) (stop func()) {
	t.Helper()
	nc := srv.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := groups.Config{NC: nc, JS: js, Log: zerolog.Nop()}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	// Wait until the endpoints answer.
	natstest.WaitEndpoints(t, nc, groups.ServiceName, len(groups.CommandNames()))
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("service stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type reply struct {
	GroupID   string         `json:"group_id"`
	Version   uint64         `json:"version"`
	CommandID string         `json:"command_id"`
	Events    []events.Event `json:"events"`
	Error     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	duplicate bool
	raw       []byte
}

func send(t *testing.T, nc *nats.Conn, subject string, body any) reply {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := nc.Request(subject, data, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var r reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("%s: reply %q: %v", subject, msg.Data, err)
	}
	r.raw = msg.Data
	r.duplicate = msg.Header.Get(groups.DuplicateHeader) == "true"
	if r.Error != nil && msg.Header.Get("Nats-Service-Error-Code") == "" {
		t.Fatalf("%s: error reply without micro error headers", subject)
	}
	return r
}

func mustOK(t *testing.T, r reply) reply {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("want success, have %s: %s", r.Error.Code, r.Error.Message)
	}
	return r
}

func wantCode(t *testing.T, r reply, code string) {
	t.Helper()
	if r.Error == nil || r.Error.Code != code {
		t.Fatalf("want error %s, have %s", code, r.raw)
	}
}

// streamCommits reads every commit of a group from ROSTER_EVENTS.
func streamCommits(t *testing.T, srv *natstest.Server, groupID string) []eventstore.Stored {
	t.Helper()
	ctx := context.Background()
	s, err := srv.JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	var out []eventstore.Stored
	if _, err := eventstore.New(srv.JS, s).Load(ctx, groupID, 0, func(st eventstore.Stored) error {
		out = append(out, st)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func replayState(t *testing.T, commits []eventstore.Stored) *group.State {
	t.Helper()
	var evs []events.Event
	for _, c := range commits {
		evs = append(evs, c.Commit.Events...)
	}
	s, err := group.Fold("A", evs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The seed scenario: create A (owner o); invite a; remove a; invite a again.
func seed(t *testing.T, ncs []*nats.Conn, commandIDs bool) []reply {
	t.Helper()
	steps := []struct {
		subject string
		body    map[string]any
	}{
		{"roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "Group A", "join_policy": "approval"}},
		{"roster.cmd.member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"a"}}},
		{"roster.cmd.member.remove", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"a"}}},
		{"roster.cmd.member.invite", map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"a"}}},
	}
	var out []reply
	for i, s := range steps {
		if commandIDs {
			s.body["command_id"] = fmt.Sprintf("seed-%d", i)
		}
		out = append(out, mustOK(t, send(t, ncs[i%len(ncs)], s.subject, s.body)))
	}
	return out
}

func checkSeed(t *testing.T, srv *natstest.Server, replies []reply) {
	t.Helper()
	for i, r := range replies {
		if r.Version != uint64(i+1) {
			t.Fatalf("step %d: want version %d, have %d", i, i+1, r.Version)
		}
	}
	commits := streamCommits(t, srv, "A")
	wantTypes := []events.Type{events.GroupCreated, events.MemberInvited, events.MemberRemoved, events.MemberInvited}
	if len(commits) != len(wantTypes) {
		t.Fatalf("want %d commits, have %d", len(wantTypes), len(commits))
	}
	for i, c := range commits {
		if len(c.Commit.Events) != 1 || c.Commit.Events[0].Type != wantTypes[i] || c.Commit.Events[0].Version != uint64(i+1) {
			t.Fatalf("commit %d: %+v", i, c.Commit)
		}
		if i > 0 && c.Seq <= commits[i-1].Seq {
			t.Fatal("commits out of order")
		}
	}
	st := replayState(t, commits)
	if st.Role("a") != events.RoleMember || st.Role("o") != events.RoleOwner || len(st.Members) != 2 {
		t.Fatalf("replayed members: %v", st.Members)
	}
}

func TestSeedScenario(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	checkSeed(t, srv, seed(t, []*nats.Conn{srv.NC}, false))
}

func TestSeedScenarioTwoProcesses(t *testing.T) {
	srv := natstest.Start(t)
	// Two service processes, each only reachable through its own queue
	// subscription; alternate clients so both handle commands and both
	// hold stale hot state that only OCC can correct.
	startService(t, srv, nil)
	startService(t, srv, nil)
	checkSeed(t, srv, seed(t, []*nats.Conn{srv.Connect(t), srv.Connect(t)}, true))
}

func TestSeedScenarioSameCommandTwice(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	first := seed(t, []*nats.Conn{srv.NC}, true)
	again := seed(t, []*nats.Conn{srv.NC}, true)
	for i := range first {
		if !again[i].duplicate {
			t.Fatalf("step %d: retry not marked duplicate", i)
		}
		if string(again[i].raw) != string(first[i].raw) {
			t.Fatalf("step %d: want original outcome %s, have %s", i, first[i].raw, again[i].raw)
		}
	}
	checkSeed(t, srv, first)
}

// A retried command_id returns the original outcome also after JetStream's
// duplicate window has passed and after the service restarted.
func TestIdempotencyBeyondDuplicateWindowAndRestart(t *testing.T) {
	srv := natstest.Start(t)
	window := 200 * time.Millisecond
	stop := startService(t, srv, func(c *groups.Config) { c.Stream.DuplicateWindow = window })
	body := map[string]any{"group_id": "A", "actor": "o", "name": "A", "command_id": "c-create"}
	orig := mustOK(t, send(t, srv.NC, "roster.cmd.group.create", body))
	inv := map[string]any{"group_id": "A", "actor": "o", "user_ids": []string{"a"}, "command_id": "c-inv"}
	origInv := mustOK(t, send(t, srv.NC, "roster.cmd.member.invite", inv))
	stop()
	// Let the duplicate window pass: wait until JetStream forgot the ids.
	natstest.Eventually(t, 5*time.Second, func() error {
		si, err := srv.JS.Stream(context.Background(), events.StreamName)
		if err != nil {
			return err
		}
		info, err := si.Info(context.Background())
		if err != nil {
			return err
		}
		if info.Created.Add(window).After(time.Now()) || time.Since(info.State.LastTime) < 2*window {
			return fmt.Errorf("duplicate window still open")
		}
		return nil
	})
	startService(t, srv, func(c *groups.Config) { c.Stream.DuplicateWindow = window })
	for _, tc := range []struct {
		subject string
		body    map[string]any
		want    reply
	}{{"roster.cmd.group.create", body, orig}, {"roster.cmd.member.invite", inv, origInv}} {
		r := mustOK(t, send(t, srv.NC, tc.subject, tc.body))
		if !r.duplicate || string(r.raw) != string(tc.want.raw) {
			t.Fatalf("%s: want original %s, have %s (duplicate=%v)", tc.subject, tc.want.raw, r.raw, r.duplicate)
		}
	}
	if n := len(streamCommits(t, srv, "A")); n != 2 {
		t.Fatalf("want 2 commits, have %d", n)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	mustOK(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": "A", "actor": "o", "name": "A"}))
	big := `{"group_id":"A","actor":"o","user_ids":["` + strings.Repeat("x", 300<<10) + `"]}`
	tests := []struct {
		name, subject, body, code, mention string
	}{
		{"malformed json", "roster.cmd.member.invite", `{"group_id":"A",`, "invalid_argument", "malformed"},
		{"not an object", "roster.cmd.member.invite", `[1,2]`, "invalid_argument", "object"},
		{"trailing data", "roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":["a"]}x`, "invalid_argument", "after"},
		{"empty body", "roster.cmd.member.invite", ``, "invalid_argument", "empty"},
		{"unknown field", "roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":["a"],"admin":true}`, "invalid_argument", `"admin"`},
		{"wrong type", "roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":"a"}`, "invalid_argument", "user_ids"},
		{"group id with dot", "roster.cmd.member.invite", `{"group_id":"A.B","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"group id with wildcard", "roster.cmd.member.invite", `{"group_id":"*","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"group id with gt", "roster.cmd.member.invite", `{"group_id":">","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"group id with space", "roster.cmd.member.invite", `{"group_id":"A B","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"empty group id", "roster.cmd.member.invite", `{"group_id":"","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"long group id", "roster.cmd.member.invite", `{"group_id":"` + strings.Repeat("g", 65) + `","actor":"o","user_ids":["a"]}`, "invalid_argument", "group_id"},
		{"bad actor", "roster.cmd.member.invite", `{"group_id":"A","actor":"o.x","user_ids":["a"]}`, "invalid_argument", "actor"},
		{"bad user id", "roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":["a","b c"]}`, "invalid_argument", "user_ids[1]"},
		{"bad command id", "roster.cmd.member.invite", `{"group_id":"A","actor":"o","user_ids":["a"],"command_id":"x.y"}`, "invalid_argument", "command_id"},
		{"oversize payload", "roster.cmd.member.invite", big, "invalid_argument", "payload"},
		{"mute without duration", "roster.cmd.member.mute", `{"group_id":"A","actor":"o","user_id":"o"}`, "invalid_argument", "duration_seconds"},
		{"update without fields", "roster.cmd.group.update", `{"group_id":"A","actor":"o"}`, "invalid_argument", "name"},
		{"issue 10: names in another case", "roster.cmd.group.create", `{"group_id":"a","actor":"owner","name":"n","GROUP_ID":"b","Actor":"mallory"}`, "invalid_argument", `"GROUP_ID"`},
		{"duplicate name", "roster.cmd.group.create", `{"group_id":"b","actor":"o","name":"n","group_id":"c"}`, "invalid_argument", "group_id: duplicate"},
		{"trailing brace", "roster.cmd.group.create", `{"group_id":"b","actor":"o","name":"n"}}`, "invalid_argument", "after"},
		{"NUL in name", "roster.cmd.group.create", `{"group_id":"b","actor":"o","name":"n\u0000"}`, "invalid_argument", "name: holds U+0000"},
		{"ANSI escape in intro", "roster.cmd.group.create", `{"group_id":"b","actor":"o","name":"n","intro":"\u001b[2J"}`, "invalid_argument", "intro: holds U+001B"},
		{"bidi override in name", "roster.cmd.group.update", `{"group_id":"A","actor":"o","name":"\u202egnp.exe"}`, "invalid_argument", "name: holds U+202E"},
		{"invalid UTF-8", "roster.cmd.group.update", "{\"group_id\":\"A\",\"actor\":\"o\",\"name\":\"\xff\"}", "invalid_argument", "UTF-8"},
		{"forbidden", "roster.cmd.member.invite", `{"group_id":"A","actor":"stranger","user_ids":["a"]}`, "forbidden", "stranger"},
		{"not found", "roster.cmd.member.invite", `{"group_id":"Z","actor":"o","user_ids":["a"]}`, "not_found", "Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, srv.NC, tt.subject, tt.body)
			wantCode(t, r, tt.code)
			if !strings.Contains(r.Error.Message, tt.mention) {
				t.Fatalf("message %q does not mention %q", r.Error.Message, tt.mention)
			}
		})
	}
	if n := len(streamCommits(t, srv, "A")); n != 1 {
		t.Fatalf("bad input appended: want 1 commit, have %d", n)
	}
	for _, g := range []string{"Z", "a", "b", "c"} {
		if n := len(streamCommits(t, srv, g)); n != 0 {
			t.Fatalf("want no commit for %s, have %d", g, n)
		}
	}
}

// Many clients race on few groups through two processes; every accepted
// command lands exactly once and versions stay gapless.
func TestConcurrentCommandsTwoProcesses(t *testing.T) {
	srv := natstest.Start(t)
	startService(t, srv, nil)
	startService(t, srv, nil)
	const groupsN, usersPerGroup = 3, 40
	for g := 0; g < groupsN; g++ {
		mustOK(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": fmt.Sprintf("G%d", g), "actor": "o", "name": "g", "join_policy": "open"}))
	}
	var wg sync.WaitGroup
	errs := make(chan string, groupsN*usersPerGroup)
	for g := 0; g < groupsN; g++ {
		for u := 0; u < usersPerGroup; u++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc := srv.NC
				body, _ := json.Marshal(map[string]any{"group_id": fmt.Sprintf("G%d", g), "actor": fmt.Sprintf("u%d", u)})
				msg, err := nc.Request("roster.cmd.member.join", body, 10*time.Second)
				if err != nil {
					errs <- err.Error()
					return
				}
				if strings.Contains(string(msg.Data), `"error"`) {
					errs <- string(msg.Data)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for g := 0; g < groupsN; g++ {
		commits := streamCommits(t, srv, fmt.Sprintf("G%d", g))
		if len(commits) != usersPerGroup+1 {
			t.Fatalf("G%d: want %d commits, have %d", g, usersPerGroup+1, len(commits))
		}
		var evs []events.Event
		for _, c := range commits {
			evs = append(evs, c.Commit.Events...)
		}
		st, err := group.Fold(fmt.Sprintf("G%d", g), evs)
		if err != nil {
			t.Fatal(err) // a gap or repeat in versions fails the fold
		}
		if len(st.Members) != usersPerGroup+1 {
			t.Fatalf("G%d: want %d members, have %d", g, usersPerGroup+1, len(st.Members))
		}
	}
}

// A stale hot cache in one process must not turn into a wrong rejection:
// process 1 removes a member it never saw being invited by process 2.
func TestStaleCacheDoesNotReject(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	newSvc := func() *groups.Service {
		svc, err := groups.New(ctx, groups.Config{NC: srv.NC, JS: srv.JS, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	p1, p2 := newSvc(), newSvc()
	exec := func(svc *groups.Service, name, body string) groups.Result {
		t.Helper()
		res := svc.Execute(ctx, name, []byte(body), "")
		if res.Err != nil {
			t.Fatalf("%s: %v", name, res.Err)
		}
		return res
	}
	exec(p1, "group.create", `{"group_id":"A","actor":"o","name":"A"}`)
	exec(p2, "member.invite", `{"group_id":"A","actor":"o","user_ids":["a"]}`)
	// p1's hot state has no "a": the rejection must be re-checked on fresh state.
	res := exec(p1, "member.remove", `{"group_id":"A","actor":"o","user_ids":["a"]}`)
	if res.Reply.Version != 3 {
		t.Fatalf("want version 3, have %d", res.Reply.Version)
	}
	// And p2, now stale, appends through an OCC conflict.
	res = exec(p2, "member.invite", `{"group_id":"A","actor":"o","user_ids":["a"]}`)
	if res.Reply.Version != 4 {
		t.Fatalf("want version 4, have %d", res.Reply.Version)
	}
}

// A large group is decided from a snapshot plus a short tail, never from
// its whole history; the snapshot-loaded state equals a full replay.
func TestLargeGroupLoadsFromSnapshot(t *testing.T) {
	srv := natstest.Start(t)
	stop := startService(t, srv, func(c *groups.Config) { c.SnapshotEvery = 500 })
	mustOK(t, send(t, srv.NC, "roster.cmd.group.create", map[string]any{"group_id": "BIG", "actor": "o", "name": "big", "join_policy": "open"}))
	const batches = 5
	for b := 0; b < batches; b++ {
		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = fmt.Sprintf("u%d_%d", b, i)
		}
		mustOK(t, send(t, srv.NC, "roster.cmd.member.invite", map[string]any{"group_id": "BIG", "actor": "o", "user_ids": ids}))
	}
	stop()
	// Each 1,000-user invite is one commit: atomic, never half applied.
	if commits := streamCommits(t, srv, "BIG"); len(commits) != batches+1 || len(commits[1].Commit.Events) != 1000 {
		t.Fatalf("want %d commits of which the invites hold 1000 events, have %d", batches+1, len(commits))
	}
	obs, err := srv.JS.ObjectStore(context.Background(), groups.SnapshotBucket)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		_, err := obs.GetInfo(context.Background(), "BIG")
		return err
	})
	snap, err := obs.GetInfo(context.Background(), "BIG")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	stopCold := startService(t, srv, func(c *groups.Config) { c.Metrics = reg })
	r := mustOK(t, send(t, srv.NC, "roster.cmd.member.remove", map[string]any{"group_id": "BIG", "actor": "o", "user_ids": []string{"u3_7"}}))
	// The snapshot (taken at or after version 500) leaves a tail of at most
	// SnapshotEvery events to fold; a full replay would fold 5,001.
	if folded := counterValue(t, reg, "roster_group_load_events_total"); folded >= 500 {
		t.Fatalf("cold load folded %v events: snapshot not used", folded)
	}
	if r.Version != batches*1000+2 {
		t.Fatalf("want version %d, have %d", batches*1000+2, r.Version)
	}
	wantCode(t, send(t, srv.NC, "roster.cmd.member.invite", map[string]any{"group_id": "BIG", "actor": "o", "user_ids": []string{"u4_999"}}), "already_exists")
	// Loading a current snapshot must not write it again: that would
	// re-encode the whole group on every cold load (stopping waits for
	// background snapshot writes).
	stopCold()
	if again, err := obs.GetInfo(context.Background(), "BIG"); err != nil || again.NUID != snap.NUID {
		t.Errorf("cold load rewrote the snapshot it had just read (err %v)", err)
	}
}

// counterValue reads the counter name from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s in the registry", name)
	return 0
}
