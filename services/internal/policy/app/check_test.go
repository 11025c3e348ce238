package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/decision"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// hooks is a HookSource of a fixed list, in order.
type checkHooks []hook.Hook

func (l checkHooks) ForCommand(command string) []hook.Hook {
	var out []hook.Hook
	for _, h := range l {
		if h.Command == command {
			out = append(out, h)
		}
	}
	return out
}

// serve is a real HTTP hook answering what answer returns; calls counts.
func checkServe(t *testing.T, calls *atomic.Int64, answer func() (int, string)) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls.Add(1)
		status, body := answer()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func newCheckerT(t *testing.T, l checkHooks, br app.BreakerConfig) (*app.Checker, *memory.Recorder) {
	t.Helper()
	guard, err := httpclient.NewGuard(httpclient.GuardConfig{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := httpclient.NewClient(httpclient.ClientConfig{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	rec := memory.NewRecorder()
	c, err := app.NewChecker(app.CheckConfig{Hooks: l, Sender: client, Audit: rec, Log: zerolog.Nop(), Breaker: br})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func checkInvite(users ...string) app.CheckInput {
	st := group.New("G")
	st.Exists, st.Owner = true, "owner"
	st.Members["owner"] = &group.Member{Role: events.RoleOwner}
	return app.CheckInput{AuditID: "audit-1", Input: decision.Input{GroupID: "G", Actor: "owner", CommandID: "cmd-" + users[0],
		Command: group.Invite{UserIDs: users}, Group: st, MemberCount: len(st.Members)}}
}

func checkOutcomes(rec *memory.Recorder) []string {
	var out []record.PolicyDecision
	for _, r := range rec.Records() {
		out = append(out, r.(record.PolicyDecision))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DecidedAt.Before(out[j].DecidedAt) })
	s := make([]string, len(out))
	for i, d := range out {
		s[i] = d.HookID + ":" + d.Outcome + ":" + d.FailureClass
	}
	return s
}

// TestHooksRunInOrder: each hook sees the command as the previous one
// left it, and a veto stops the chain before the next hook is called.
func TestHooksRunInOrder(t *testing.T) {
	var first, second, third atomic.Int64
	l := checkHooks{
		{ID: "a", Command: "member.invite", Callback: hook.OpenIMBeforeMembersJoinGroup, Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny,
			URL: checkServe(t, &first, func() (int, string) {
				return 200, `{"actionCode":0,"memberCallbackList":[{"userID":"u1","nickname":"A"}]}`
			})},
		{ID: "b", Command: "member.invite", Format: hook.FormatStandard, Timeout: time.Second, OnFailure: hook.Deny,
			URL: checkServe(t, &second, func() (int, string) { return 200, `{"allow":true,"patch":{"reason":"B"}}` })},
		{ID: "c", Command: "member.invite", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Allow,
			URL: checkServe(t, &third, func() (int, string) { return 200, `{"actionCode":0,"nextCode":1,"errCode":7,"errMsg":"no"}` })},
	}
	c, rec := newCheckerT(t, l[:2], app.BreakerConfig{})
	out, err := c.Check(context.Background(), checkInvite("u1"))
	if err != nil {
		t.Fatal(err)
	}
	inv := out.Command.(group.Invite)
	if inv.Reason != "B" || inv.Admissions["u1"].Nickname != "A" {
		t.Errorf("want both overrides, have %#v", inv)
	}
	if got := checkOutcomes(rec); len(got) != 2 || got[0] != "a:overridden:" || got[1] != "b:overridden:" {
		t.Errorf("decisions: %v", got)
	}

	c, _ = newCheckerT(t, checkHooks{l[2], l[0]}, app.BreakerConfig{})
	before := first.Load()
	_, err = c.Check(context.Background(), checkInvite("u2"))
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.CodePolicyDenied || e.Details["err_code"] != 7 {
		t.Fatalf("want the veto, have %v", err)
	}
	if first.Load() != before {
		t.Errorf("a hook after the veto was called")
	}
}

// TestCacheAnswersAnUnchangedInput: the same request id is answered from
// the cache (no call, no second row); another input calls again.
func TestCacheAnswersAnUnchangedInput(t *testing.T) {
	var calls atomic.Int64
	l := checkHooks{{ID: "a", Command: "member.invite", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny,
		URL: checkServe(t, &calls, func() (int, string) { return 200, `{"actionCode":0}` })}}
	c, rec := newCheckerT(t, l, app.BreakerConfig{})
	for range 3 {
		if _, err := c.Check(context.Background(), checkInvite("u1")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Check(context.Background(), checkInvite("u2")); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || len(rec.Records()) != 2 {
		t.Errorf("want 2 calls and 2 rows, have %d and %d", calls.Load(), len(rec.Records()))
	}
}

// TestBreakerProbesAndCloses: failures open the breaker (calls skipped);
// after the cool-down one probe goes through, and its success closes it.
func TestBreakerProbesAndCloses(t *testing.T) {
	var calls atomic.Int64
	var healthy atomic.Bool
	l := checkHooks{{ID: "flaky", Command: "member.invite", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Allow,
		URL: checkServe(t, &calls, func() (int, string) {
			if healthy.Load() {
				return 200, `{"actionCode":0}`
			}
			return 503, `busy`
		})}}
	c, rec := newCheckerT(t, l, app.BreakerConfig{Failures: 2, CoolDown: 300 * time.Millisecond})
	n := 0
	check := func() {
		n++
		if _, err := c.Check(context.Background(), checkInvite("u"+string(rune('a'+n)))); err != nil {
			t.Fatal(err)
		}
	}
	check()
	check()
	check() // open: skipped
	if calls.Load() != 2 {
		t.Fatalf("want 2 calls before the breaker opened, have %d", calls.Load())
	}
	healthy.Store(true)
	natstest.Eventually(t, 5*time.Second, func() error {
		check()
		if calls.Load() < 3 {
			return errors.New("no probe yet")
		}
		return nil
	})
	check()
	got := checkOutcomes(rec)
	if got[0] != "flaky:failed:status" || got[2] != "flaky:skipped:" || got[len(got)-2] != "flaky:allowed:" || got[len(got)-1] != "flaky:allowed:" {
		t.Errorf("decisions: %v", got)
	}
	if calls.Load() != 4 {
		t.Errorf("want the breaker closed after the probe (4 calls), have %d", calls.Load())
	}
}

// TestHoldsSeesWhatTheHookSaw: the verdict holds on a state that differs
// only where no body looks, not where one does.
func TestHoldsSeesWhatTheHookSaw(t *testing.T) {
	var calls atomic.Int64
	l := checkHooks{{ID: "s", Command: "member.invite", Format: hook.FormatStandard, Timeout: time.Second, OnFailure: hook.Deny,
		URL: checkServe(t, &calls, func() (int, string) { return 200, `{"allow":true}` })}}
	c, _ := newCheckerT(t, l, app.BreakerConfig{})
	in := checkInvite("u1")
	out, err := c.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	same := *in.Group
	if !out.Holds(&same) {
		t.Errorf("an equal state does not hold")
	}
	moved := same
	moved.Version++
	if out.Holds(&moved) {
		t.Errorf("a state whose summary changed holds (the standard body shows the version)")
	}
}

// TestRejectionsAreNotCached: a caller retrying after a veto is asked
// afresh (the hook may have changed its mind).
func TestRejectionsAreNotCached(t *testing.T) {
	var calls atomic.Int64
	var allow atomic.Bool
	l := checkHooks{{ID: "v", Command: "member.invite", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny,
		URL: checkServe(t, &calls, func() (int, string) {
			if allow.Load() {
				return 200, `{"actionCode":0}`
			}
			return 200, `{"actionCode":0,"nextCode":1,"errMsg":"not yet"}`
		})}}
	c, _ := newCheckerT(t, l, app.BreakerConfig{})
	if _, err := c.Check(context.Background(), checkInvite("u1")); err == nil {
		t.Fatal("want the veto")
	}
	allow.Store(true)
	if _, err := c.Check(context.Background(), checkInvite("u1")); err != nil {
		t.Fatalf("want the second ask allowed, have %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("want 2 calls, have %d", calls.Load())
	}
}

// TestTrailKnowsEveryOutcome: the trail accepts exactly the outcomes and
// classes the decisions make.
func TestTrailKnowsEveryOutcome(t *testing.T) {
	outs := []decision.Outcome{decision.Allowed, decision.Denied, decision.Overridden, decision.Failed, decision.Skipped}
	if len(outs) != len(record.PolicyOutcomes) || len(decision.Classes) != len(record.PolicyClasses) {
		t.Fatalf("sets differ: %v %v / %v %v", outs, record.PolicyOutcomes, decision.Classes, record.PolicyClasses)
	}
	for i, o := range outs {
		if string(o) != record.PolicyOutcomes[i] {
			t.Errorf("outcome %d: %s vs %s", i, o, record.PolicyOutcomes[i])
		}
	}
	for i, c := range decision.Classes {
		if string(c) != record.PolicyClasses[i] {
			t.Errorf("class %d: %s vs %s", i, c, record.PolicyClasses[i])
		}
	}
}

// TestOpenIMCallsAreSigned: an openim hook gets OpenIM's operationID
// header and Standard Webhooks headers that verify with its secret.
func TestOpenIMCallsAreSigned(t *testing.T) {
	secret, err := delivery.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := delivery.ParseSecret(secret)
	got := make(chan http.Header, 1)
	bodies := make(chan []byte, 1)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Clone()
		bodies <- b
		_, _ = io.WriteString(w, `{"actionCode":0}`)
	}))
	t.Cleanup(s.Close)
	c, _ := newCheckerT(t, checkHooks{{ID: "o", Command: "member.invite", Format: hook.FormatOpenIM, Timeout: time.Second, OnFailure: hook.Deny,
		URL: s.URL, Secrets: []string{secret}}}, app.BreakerConfig{})
	if _, err := c.Check(context.Background(), checkInvite("u1")); err != nil {
		t.Fatal(err)
	}
	hd, body := <-got, <-bodies
	ts, _ := strconv.ParseInt(hd.Get("webhook-timestamp"), 10, 64)
	id := hd.Get("webhook-id")
	if id == "" || hd.Get("operationID") != id || !strings.Contains(string(body), `"operationID":"`+id+`"`) {
		t.Errorf("want one request id in operationID, the header and webhook-id, have %v %s", hd, body)
	}
	if hd.Get("webhook-signature") != delivery.Sign(id, time.Unix(ts, 0), body, [][]byte{key}) {
		t.Errorf("signature does not verify: %v", hd)
	}
}
