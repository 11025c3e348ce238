package groups_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	policyapp "github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// hookList is a HookSource of a fixed list (the roster-policy View in
// production): the hooks of a command in the list's order.
type hookList []hook.Hook

func (l hookList) ForCommand(command string) []hook.Hook {
	var out []hook.Hook
	for _, h := range l {
		if h.Command == command {
			out = append(out, h)
		}
	}
	return out
}

// receiver is a real HTTP policy hook: it counts and keeps every request
// and answers with answer.
type hookReceiver struct {
	srv    *httptest.Server
	calls  atomic.Int64
	mu     sync.Mutex
	paths  []string
	bodies [][]byte
}

func newHookReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.calls.Add(1)
		rc.mu.Lock()
		rc.paths, rc.bodies = append(rc.paths, r.URL.Path), append(rc.bodies, body)
		rc.mu.Unlock()
		answer(w, r, body)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// answering is a receiver that always answers text with status 200.
func hookAnswering(t *testing.T, text string) *hookReceiver {
	return newHookReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, text)
	})
}

func (rc *hookReceiver) seen() ([]string, [][]byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.paths...), append([][]byte(nil), rc.bodies...)
}

// policyStack is NATS, the audit trail down to a ClickHouse database of
// the test's own, and roster-groups with the hooks.
type policyStack struct {
	srv *natstest.Server
	ch  driver.Conn
	db  string
	reg *prometheus.Registry
}

type stackOptions struct {
	hooks    hookList
	breaker  policyapp.BreakerConfig
	allow    []string // the SSRF guard's allowlist (default loopback)
	noAllow  bool
	services int // roster-groups processes (default 1)
}

func startPolicyStack(t *testing.T, o stackOptions) *policyStack {
	t.Helper()
	srv := natstest.Start(t)
	dsn, db := audittest.DSN(t, "roster_test_policy_")
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	sink, err := audit.NewSink(audit.SinkConfig{JS: srv.JS, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), ClickHouse: audit.ClickHouseConfig{DSN: dsn},
		FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sinkDone := make(chan struct{})
	go func() { _ = sink.Run(ctx); close(sinkDone) }()
	t.Cleanup(func() { cancel(); <-sinkDone })
	natstest.Eventually(t, 60*time.Second, func() error {
		if !sink.Ready() {
			return fmt.Errorf("audit sink not ready")
		}
		return nil
	})
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	allow := o.allow
	if allow == nil && !o.noAllow {
		allow = []string{"127.0.0.0/8"}
	}
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	checker, err := policyapp.NewChecker(policyapp.CheckConfig{
		Hooks: o.hooks, Sender: client, Audit: pub, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
		Registerer: reg, Breaker: o.breaker,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := max(o.services, 1)
	for range n {
		startService(t, srv, func(c *groups.Config) { c.Audit, c.Policy, c.Metrics = pub, checker, reg })
	}
	return &policyStack{srv: srv, ch: conn, db: db, reg: reg}
}

// openimHook is an openim hook on command at rc.
func openimHook(id, command string, rc *hookReceiver, onFailure hook.OnFailure) hook.Hook {
	return hook.Hook{ID: id, Command: command, URL: rc.srv.URL, Format: hook.FormatOpenIM, Timeout: 2 * time.Second,
		OnFailure: onFailure, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}
}

// policyReply is a command reply with the error's details.
type policyReply struct {
	Events []struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	} `json:"events"`
	Error *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	raw     string
	elapsed time.Duration
}

func policyCall(t *testing.T, nc *nats.Conn, command string, body map[string]any) policyReply {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	msg, err := nc.Request("roster.cmd."+command, data, 15*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	r := policyReply{raw: string(msg.Data), elapsed: time.Since(start)}
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("%s: reply %s: %v", command, msg.Data, err)
	}
	return r
}

func policyOK(t *testing.T, r policyReply) policyReply {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("want success, have %s", r.raw)
	}
	return r
}

func policyErr(t *testing.T, r policyReply, code string) policyReply {
	t.Helper()
	if r.Error == nil || r.Error.Code != code {
		t.Fatalf("want error %s, have %s", code, r.raw)
	}
	return r
}

// decisionRow is one row of roster.policy_decisions.
type decisionRow struct {
	HookID, Command, CommandID, CommandAuditID, RequestID, Outcome, Class, OnFailure, Body, Code, Message, Override string
	Status                                                                                                          uint16
}

// decisions waits until roster.policy_decisions holds want rows and
// returns them, oldest first.
func (s *policyStack) decisions(t *testing.T, want int) []decisionRow {
	t.Helper()
	var rows []decisionRow
	natstest.Eventually(t, 20*time.Second, func() error {
		rs, err := s.ch.Query(context.Background(), "SELECT hook_id, command, command_id, command_audit_id, request_id, outcome, "+
			"failure_class, on_failure, response_body, code, message, override, response_status FROM `"+s.db+"`.policy_decisions FINAL ORDER BY decided_at_us, id")
		if err != nil {
			return err
		}
		defer rs.Close()
		rows = rows[:0]
		for rs.Next() {
			var d decisionRow
			if err := rs.Scan(&d.HookID, &d.Command, &d.CommandID, &d.CommandAuditID, &d.RequestID, &d.Outcome, &d.Class, &d.OnFailure,
				&d.Body, &d.Code, &d.Message, &d.Override, &d.Status); err != nil {
				return err
			}
			rows = append(rows, d)
		}
		if len(rows) != want {
			return fmt.Errorf("want %d decisions, have %d: %+v", want, len(rows), rows)
		}
		return nil
	})
	return rows
}

func (s *policyStack) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

func labelsMatch(m *dto.Metric, labels map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if have[k] != v {
			return false
		}
	}
	return true
}

const seedAnswer = `{"actionCode":0}Callback ok`

// TestPolicySeedOnFailureAllow is the seed of issue 12 with Roster's
// hooks: before-invite and before-kick hooks answering
// `{"actionCode":0}Callback ok`. With on_failure allow every command goes
// through and the three calls are recorded invalid_response, linked to
// their commands.
func TestPolicySeedOnFailureAllow(t *testing.T) {
	rc := hookAnswering(t, seedAnswer)
	s := startPolicyStack(t, stackOptions{hooks: hookList{
		openimHook("invite-guard", "member.invite", rc, hook.Allow),
		openimHook("kick-guard", "member.remove", rc, hook.Allow),
	}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}, "command_id": "inv-1"}))
	policyOK(t, policyCall(t, s.srv.NC, "member.remove", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}, "command_id": "rm-1"}))
	policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}, "command_id": "inv-2"}))

	rows := s.decisions(t, 3)
	wantCmd := []struct{ hook, command, id string }{{"invite-guard", "member.invite", "inv-1"}, {"kick-guard", "member.remove", "rm-1"}, {"invite-guard", "member.invite", "inv-2"}}
	for i, d := range rows {
		if d.Outcome != "failed" || d.Class != "invalid_response" || d.OnFailure != "allow" || d.Status != 200 || d.Body != seedAnswer {
			t.Errorf("decision %d: want failed invalid_response with the body kept, have %+v", i, d)
		}
		if d.HookID != wantCmd[i].hook || d.Command != wantCmd[i].command || d.CommandID != wantCmd[i].id || d.CommandAuditID == "" || d.RequestID == "" {
			t.Errorf("decision %d: want %+v linked to its command, have %+v", i, wantCmd[i], d)
		}
	}
	paths, _ := rc.seen()
	want := []string{"/callbackBeforeInviteJoinGroupCommand", "/callbackBeforeKickGroupMemberCommand", "/callbackBeforeInviteJoinGroupCommand"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("want calls %v, have %v", want, paths)
	}
	if n := s.metric(t, "roster_policy_decisions_total", map[string]string{"hook_id": "invite-guard", "outcome": "failed"}); n != 2 {
		t.Errorf("roster_policy_decisions_total{invite-guard,failed}: want 2, have %v", n)
	}
}

// TestPolicySeedOnFailureDeny: the same hooks with on_failure deny reject
// the invites policy_unavailable, in words a caller can act on (no JSON
// parser's text), and the rejection's row in roster.commands is the one
// the decision names.
func TestPolicySeedOnFailureDeny(t *testing.T) {
	rc := hookAnswering(t, seedAnswer)
	s := startPolicyStack(t, stackOptions{hooks: hookList{
		openimHook("invite-guard", "member.invite", rc, hook.Deny),
		openimHook("kick-guard", "member.remove", rc, hook.Deny),
	}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G", "members": []string{"m"}}))
	r := policyErr(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}}), "policy_unavailable")
	for _, bad := range []string{"invalid character", "after top-level value", "Callback ok"} {
		if strings.Contains(r.Error.Message, bad) {
			t.Errorf("the caller reads a parser's text %q: %s", bad, r.Error.Message)
		}
	}
	if !strings.Contains(r.Error.Message, `"invite-guard"`) || r.Error.Details["hook_id"] != "invite-guard" || r.Error.Details["failure_class"] != "invalid_response" {
		t.Errorf("want the hook and the class named, have %s", r.raw)
	}
	policyErr(t, policyCall(t, s.srv.NC, "member.remove", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"m"}}), "policy_unavailable")
	rows := s.decisions(t, 2)
	for _, d := range rows {
		if d.Outcome != "failed" || d.Class != "invalid_response" || d.OnFailure != "deny" {
			t.Errorf("want failed invalid_response (deny), have %+v", d)
		}
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		var n uint64
		err := s.ch.QueryRow(context.Background(), "SELECT count() FROM `"+s.db+"`.commands FINAL WHERE id = ? AND outcome = 'rejected' AND error_code = 'policy_unavailable'",
			rows[0].CommandAuditID).Scan(&n)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("the decision's command_audit_id %q names no rejected command row", rows[0].CommandAuditID)
		}
		return nil
	})
}

// TestPolicyVetoReachesTheCaller: an OpenIM veto (actionCode 0, nextCode
// 1) rejects the command policy_denied with the hook's errCode, errMsg and
// errDlt in error.details.
func TestPolicyVetoReachesTheCaller(t *testing.T) {
	rc := hookAnswering(t, `{"actionCode":0,"errCode":10001,"errMsg":"invites are closed today","errDlt":"quota: 0 left","nextCode":1}`)
	s := startPolicyStack(t, stackOptions{hooks: hookList{openimHook("veto", "member.invite", rc, hook.Allow)}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	r := policyErr(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}}), "policy_denied")
	want := map[string]any{"hook_id": "veto", "err_code": float64(10001), "err_msg": "invites are closed today", "err_dlt": "quota: 0 left"}
	for k, v := range want {
		if r.Error.Details[k] != v {
			t.Errorf("error.details.%s: want %v, have %v (%s)", k, v, r.Error.Details[k], r.raw)
		}
	}
	if !strings.Contains(r.Error.Message, "invites are closed today") {
		t.Errorf("want the hook's errMsg in the message, have %q", r.Error.Message)
	}
	d := s.decisions(t, 1)[0]
	if d.Outcome != "denied" || d.Code != "10001" || d.Message != "invites are closed today" {
		t.Errorf("want a denied decision with the hook's code, have %+v", d)
	}
}

// TestPolicyBreakerStopsWaiting: a hook that hangs costs its timeout
// until its breaker opens; then commands return at once (on_failure
// applied without a call) and the decisions are skipped.
func TestPolicyBreakerStopsWaiting(t *testing.T) {
	release := make(chan struct{})
	hang := newHookReceiver(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	h := openimHook("hangs", "member.invite", hang, hook.Allow)
	h.Timeout = time.Second
	s := startPolicyStack(t, stackOptions{hooks: hookList{h}, breaker: policyapp.BreakerConfig{Failures: 2, CoolDown: time.Hour}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	for i := range 2 {
		r := policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{fmt.Sprintf("slow%d", i)}}))
		if r.elapsed < h.Timeout {
			t.Fatalf("invite %d: returned after %s, before the hook's timeout: was it called?", i, r.elapsed)
		}
	}
	if v := s.metric(t, "roster_policy_breaker_open", map[string]string{"hook_id": "hangs"}); v != 1 {
		t.Fatalf("roster_policy_breaker_open: want 1 after two timeouts, have %v", v)
	}
	for i := range 3 {
		r := policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{fmt.Sprintf("fast%d", i)}}))
		if r.elapsed > h.Timeout/4 {
			t.Errorf("invite with the breaker open took %s; the hook's timeout is %s", r.elapsed, h.Timeout)
		}
		t.Logf("invite with the breaker open: %s (hook timeout %s)", r.elapsed, h.Timeout)
	}
	rows := s.decisions(t, 5)
	for i, d := range rows {
		want := "skipped"
		if i < 2 {
			want = "failed"
			if d.Class != "timeout" {
				t.Errorf("decision %d: want class timeout, have %+v", i, d)
			}
		}
		if d.Outcome != want {
			t.Errorf("decision %d: want %s, have %+v", i, want, d)
		}
	}
	if n := hang.calls.Load(); n != 2 {
		t.Errorf("want the hanging hook called twice, have %d", n)
	}
}

// TestPolicyBlockedAddress: the SSRF guard applies to hooks: a hook on
// loopback without an allowlist gets nothing and fails blocked_address.
func TestPolicyBlockedAddress(t *testing.T) {
	rc := hookAnswering(t, `{"actionCode":0}`)
	s := startPolicyStack(t, stackOptions{noAllow: true, hooks: hookList{openimHook("local", "member.invite", rc, hook.Deny)}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	policyErr(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}}), "policy_unavailable")
	d := s.decisions(t, 1)[0]
	if d.Outcome != "failed" || d.Class != "blocked_address" {
		t.Errorf("want failed blocked_address, have %+v", d)
	}
	if n := rc.calls.Load(); n != 0 {
		t.Errorf("the blocked receiver got %d requests", n)
	}
}

// TestPolicyRetryDoesNotCallAgain: commands racing on one group through
// two roster-groups processes lose optimistic-concurrency rounds; a round
// lost with an unchanged decision input does not call the hook again, and
// a retried command id skips the hooks.
func TestPolicyRetryDoesNotCallAgain(t *testing.T) {
	rc := hookAnswering(t, `{"actionCode":0,"errCode":0}`)
	s := startPolicyStack(t, stackOptions{services: 2, hooks: hookList{openimHook("count", "member.invite", rc, hook.Deny)}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc := s.srv.Connect(t)
			data, _ := json.Marshal(map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{fmt.Sprintf("u%02d", i)}, "command_id": fmt.Sprintf("c%02d", i)})
			msg, err := nc.Request("roster.cmd.member.invite", data, 15*time.Second)
			if err != nil {
				errs <- err.Error()
				return
			}
			if strings.Contains(string(msg.Data), `"error"`) {
				errs <- string(msg.Data)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("invite failed: %s", e)
	}
	if got := rc.calls.Load(); got != n {
		t.Errorf("want the hook called once per command (%d), have %d", n, got)
	}
	if c := s.metric(t, "roster_command_conflicts_total", nil); c == 0 {
		t.Errorf("no optimistic-concurrency conflict happened: the test did not race")
	}
	// The same command id again: answered from the store, no call.
	policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u00"}, "command_id": "c00"}))
	if got := rc.calls.Load(); got != n {
		t.Errorf("a retried command id called the hook: %d calls", got)
	}
	s.decisions(t, n)
}

// eventData decodes the data of the reply's i-th event.
func policyEventData(t *testing.T, r policyReply, i int, typ string) map[string]any {
	t.Helper()
	if len(r.Events) <= i || r.Events[i].Type != typ {
		t.Fatalf("want event %d of type %s, have %s", i, typ, r.raw)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Events[i].Data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPolicyOverrideCreate: a before-create hook's group fields replace
// the command's before the domain decides (OpenIM's
// CallbackBeforeCreateGroupResp).
func TestPolicyOverrideCreate(t *testing.T) {
	rc := hookAnswering(t, `{"actionCode":0,"errCode":0,"groupName":"Renamed by policy","introduction":"set by the hook","needVerification":2,"groupType":2}`)
	s := startPolicyStack(t, stackOptions{hooks: hookList{openimHook("create", "group.create", rc, hook.Deny)}})
	r := policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G", "join_policy": "approval"}))
	d := policyEventData(t, r, 0, "group.created")
	if d["name"] != "Renamed by policy" || d["intro"] != "set by the hook" || d["join_policy"] != "open" {
		t.Errorf("want the hook's name, intro and needVerification 2 (open) decided, have %v", d)
	}
	row := s.decisions(t, 1)[0]
	if row.Outcome != "overridden" || !strings.Contains(row.Override, `"groupName":"Renamed by policy"`) {
		t.Errorf("want an overridden decision keeping the override, have %+v", row)
	}
	_, bodies := rc.seen()
	var sent map[string]any
	if err := json.Unmarshal(bodies[0], &sent); err != nil {
		t.Fatal(err)
	}
	if sent["operationID"] != row.RequestID || sent["groupName"] != "G" || sent["needVerification"] != float64(0) {
		t.Errorf("want operationID = the request id %s and the command's fields, have %v", row.RequestID, sent)
	}
}

// TestPolicyOverrideMembersJoin: a beforeMembersJoinGroup hook on invite
// sets per-member fields (nickname, role, mute) that become the command's
// admissions; one it cannot map (roleLevel 42) rejects the command.
func TestPolicyOverrideMembersJoin(t *testing.T) {
	var level atomic.Int64
	level.Store(60)
	rc := newHookReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		if level.Load() == 42 {
			_, _ = io.WriteString(w, `{"actionCode":0,"memberCallbackList":[{"userID":"u3","roleLevel":42}]}`)
			return
		}
		// A mute an hour from now: the domain refuses one past its 30-day limit.
		until := time.Now().Add(time.Hour).UnixMilli()
		_, _ = fmt.Fprintf(w, `{"actionCode":0,"memberCallbackList":[{"userID":"u1","nickname":"Nick","roleLevel":60,"muteEndTime":%d},{"userID":"stranger","nickname":"ignored"}]}`, until)
	})
	h := openimHook("join", "member.invite", rc, hook.Deny)
	h.Callback = hook.OpenIMBeforeMembersJoinGroup
	s := startPolicyStack(t, stackOptions{hooks: hookList{h}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	inv := policyOK(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1", "u2"}}))
	// The admission is decided into u1's event; u2 has none.
	adm, _ := policyEventData(t, inv, 0, "member.invited")["admission"].(map[string]any)
	if adm["nickname"] != "Nick" || adm["role"] != "admin" || adm["muted_until"] == nil {
		t.Errorf("want u1 admitted with the hook's nickname, role admin and mute, have %s", inv.raw)
	}
	if _, ok := policyEventData(t, inv, 1, "member.invited")["admission"]; ok {
		t.Errorf("want no admission for u2, have %s", inv.raw)
	}
	level.Store(42)
	r := policyErr(t, policyCall(t, s.srv.NC, "member.invite", map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u3"}}), "invalid_argument")
	if !strings.Contains(r.Error.Message, "roleLevel 42") {
		t.Errorf("want the refused override named, have %s", r.raw)
	}
	rows := s.decisions(t, 2)
	if rows[0].Outcome != "overridden" || !strings.Contains(rows[0].Override, `"nickname":"Nick"`) || strings.Contains(rows[0].Override, "stranger") {
		t.Errorf("want u1's admission applied and the stranger ignored, have %+v", rows[0])
	}
	paths, bodies := rc.seen()
	if paths[0] != "/callbackBeforeMembersJoinGroupCommand" || !strings.Contains(string(bodies[0]), `"memberList":[{"userID":"u1","ex":""},{"userID":"u2","ex":""}]`) {
		t.Errorf("want OpenIM's beforeMembersJoinGroup body, have %s %s", paths[0], bodies[0])
	}
}

// TestPolicyOverrideSetInfo: a beforeSetGroupInfo hook on group.update
// changes the update before it is decided (CallbackBeforeSetGroupInfoResp).
func TestPolicyOverrideSetInfo(t *testing.T) {
	rc := hookAnswering(t, `{"actionCode":0,"introduction":"the hook's intro","groupName":""}`)
	s := startPolicyStack(t, stackOptions{hooks: hookList{openimHook("setinfo", "group.update", rc, hook.Deny)}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	r := policyOK(t, policyCall(t, s.srv.NC, "group.update", map[string]any{"group_id": "G", "actor": "owner", "name": "New name"}))
	d := policyEventData(t, r, 0, "group.updated")
	if d["name"] != "New name" || d["intro"] != "the hook's intro" {
		t.Errorf("want the caller's name kept (an empty groupName sets nothing) and the hook's intro, have %v", d)
	}
	if row := s.decisions(t, 1)[0]; row.Outcome != "overridden" {
		t.Errorf("want overridden, have %+v", row)
	}
}

// TestPolicyStandardHook: a standard hook gets a signed policy.check and
// its patch replaces the command's wire fields.
func TestPolicyStandardHook(t *testing.T) {
	secret, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := delivery.ParseSecret(secret)
	var bad atomic.Int64
	rc := newHookReceiver(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if r.Header.Get("webhook-signature") != delivery.Sign(r.Header.Get("webhook-id"), time.Unix(ts, 0), body, [][]byte{key}) {
			bad.Add(1)
		}
		_, _ = io.WriteString(w, `{"allow":true,"patch":{"name":"Patched","members":["m1","m2"]}}`)
	})
	h := hook.Hook{ID: "std", Command: "group.create", URL: rc.srv.URL + "/policy", Format: hook.FormatStandard, Timeout: 2 * time.Second,
		OnFailure: hook.Deny, Secrets: []string{secret}}
	s := startPolicyStack(t, stackOptions{hooks: hookList{h}})
	r := policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G", "members": []string{"m1"}}))
	d := policyEventData(t, r, 0, "group.created")
	if d["name"] != "Patched" || fmt.Sprint(d["members"]) != "[m1 m2]" {
		t.Errorf("want the patch decided, have %v", d)
	}
	if bad.Load() != 0 {
		t.Errorf("the request's Standard Webhooks signature did not verify")
	}
	paths, bodies := rc.seen()
	var sent struct {
		Type, Command, GroupID, Actor string
		Input                         map[string]any
		Group                         map[string]any
	}
	if err := json.Unmarshal(bodies[0], &sent); err != nil {
		t.Fatal(err)
	}
	if paths[0] != "/policy" || sent.Type != "policy.check" || sent.Command != "group.create" || sent.Input["name"] != "G" || sent.Group["exists"] != false {
		t.Errorf("want a policy.check of the command, have %s %s", paths[0], bodies[0])
	}
	if row := s.decisions(t, 1)[0]; row.Outcome != "overridden" || row.Override != `{"name":"Patched","members":["m1","m2"]}` {
		t.Errorf("want the patch kept, have %+v", row)
	}
}

// TestPolicyOutsideTheLockAndAskedAgain: while a hook is being asked, the
// group is not locked (another command on it is decided meanwhile); that
// command changed what a standard hook is told (the group's version), so
// the invite asks again, under a new request id, before it is decided.
func TestPolicyOutsideTheLockAndAskedAgain(t *testing.T) {
	first, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var ids sync.Map
	rc := newHookReceiver(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		ids.Store(r.Header.Get("webhook-id"), true)
		once.Do(func() {
			close(first)
			<-proceed
		})
		_, _ = io.WriteString(w, `{"allow":true}`)
	})
	h := hook.Hook{ID: "std", Command: "member.invite", URL: rc.srv.URL, Format: hook.FormatStandard, Timeout: 5 * time.Second, OnFailure: hook.Deny}
	s := startPolicyStack(t, stackOptions{hooks: hookList{h}})
	policyOK(t, policyCall(t, s.srv.NC, "group.create", map[string]any{"group_id": "G", "actor": "owner", "name": "G"}))
	done := make(chan policyReply, 1)
	go func() {
		data, _ := json.Marshal(map[string]any{"group_id": "G", "actor": "owner", "user_ids": []string{"u1"}, "command_id": "inv"})
		msg, err := s.srv.NC.Request("roster.cmd.member.invite", data, 15*time.Second)
		var r policyReply
		if err == nil {
			_ = json.Unmarshal(msg.Data, &r)
			r.raw = string(msg.Data)
		} else {
			r.raw = err.Error()
		}
		done <- r
	}()
	<-first
	// The hook holds the invite; the group must still take commands.
	upd := policyCall(t, s.srv.NC, "group.update", map[string]any{"group_id": "G", "actor": "owner", "intro": "changed meanwhile"})
	close(proceed)
	policyOK(t, upd)
	r := <-done
	if r.Error != nil || len(r.Events) != 1 || r.Events[0].Type != "member.invited" {
		t.Fatalf("want the invite accepted, have %s", r.raw)
	}
	if n := rc.calls.Load(); n != 2 {
		t.Errorf("want the hook asked twice (before and after the group changed), have %d", n)
	}
	distinct := 0
	ids.Range(func(_, _ any) bool { distinct++; return true })
	if distinct != 2 {
		t.Errorf("want two request ids, have %d", distinct)
	}
	if e := upd.elapsed; e > 2*time.Second {
		t.Errorf("the update waited %s behind the hook", e)
	}
}
