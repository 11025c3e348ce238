package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	auditmem "github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/policy/adapters/hookmem"
	"github.com/rosterhq/roster/services/internal/policy/adapters/urlguard"
	"github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// resolver answers from a fixed table, as DNS would.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

var dns = resolver{
	"policy.example.com":   {netip.MustParseAddr("93.184.216.34")},
	"internal.example.com": {netip.MustParseAddr("10.1.2.3")},
	// A name with a public and a private address: refused at registration.
	"mixed.example.com": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("192.168.1.10")},
}

type fixture struct {
	app   *app.App
	store *hookmem.Store
	rec   *auditmem.Recorder
	clock *clockwork.FakeClock
}

func newApp(t *testing.T, allow ...string) fixture {
	t.Helper()
	g, err := urlguard.New(urlguard.Config{Allow: allow, Resolver: dns})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{store: hookmem.New(hooktest.Keyring(t)), rec: auditmem.NewRecorder(),
		clock: clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))}
	f.app, err = app.New(app.Config{Hooks: f.store, Guard: g, Audit: f.rec, Log: zerolog.Nop(), Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func parseCreate(t *testing.T, body string) app.CreateRequest {
	t.Helper()
	r, err := app.ParseCreate([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return r
}

func (f fixture) changes() []audit.PolicyHookChange {
	var out []audit.PolicyHookChange
	for _, r := range f.rec.Records() {
		if c, ok := r.(audit.PolicyHookChange); ok {
			out = append(out, c)
		}
	}
	return out
}

func TestCreateStandardGeneratesASecretShownOnce(t *testing.T) {
	f := newApp(t)
	ctx := context.Background()
	rep, err := f.app.CreateHook(ctx, parseCreate(t, `{"actor":"ops","command":"member.invite","url":"https://policy.example.com/check?token=t0p","format":"standard","on_failure":"deny"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := delivery.ParseSecret(rep.Secret); err != nil {
		t.Fatalf("create reply secret %q: %v", rep.Secret, err)
	}
	h := rep.Hook
	if !strings.HasPrefix(h.ID, "hk_") || h.Timeout != app.Duration(hook.DefaultTimeout) || !h.HasSecret || h.CreatedBy != "ops" || h.Callback != "" {
		t.Fatalf("created %+v", h)
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"timeout":"5s"`) || !strings.Contains(string(b), `"has_secret":true`) {
		t.Fatalf("reply JSON %s", b)
	}
	// get and list show the secret's presence only.
	got, err := f.app.GetHook(ctx, app.IDRequest{ID: h.ID})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.app.ListHooks(ctx, app.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"get": got, "list": list} {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), rep.Secret) || strings.Contains(string(b), rep.Secret[len("whsec_"):]) || !strings.Contains(string(b), `"has_secret":true`) {
			t.Fatalf("%s reply %s: want the secret's presence only", name, b)
		}
	}
	// The source the caller reads has it in plaintext.
	if hs := f.store.ForCommand("member.invite"); len(hs) != 1 || hs[0].Secrets[0] != rep.Secret {
		t.Fatal("the hook source does not hold the created secret")
	}
	// The audit record: actor, after, no secret, no token.
	ch := f.changes()
	if len(ch) != 1 || ch[0].Change != "created" || ch[0].Actor != "ops" || ch[0].HookID != h.ID || ch[0].Command != "member.invite" || ch[0].Before != "" {
		t.Fatalf("audit: %+v", ch)
	}
	if strings.Contains(ch[0].After, rep.Secret[len("whsec_"):]) || strings.Contains(ch[0].After, "t0p") || !strings.Contains(ch[0].After, `"has_secret":true`) {
		t.Fatalf("audit after: %s", ch[0].After)
	}
	if err := audit.Validate(ch[0]); err != nil {
		t.Fatal(err)
	}
}

func TestCreateOpenIM(t *testing.T) {
	f := newApp(t)
	rep, err := f.app.CreateHook(context.Background(), parseCreate(t,
		`{"actor":"ops","id":"openim-invite","command":"member.invite","url":"https://policy.example.com/callback","format":"openim","timeout":"2s","on_failure":"allow","callback":"callbackBeforeMembersJoinGroupCommand"}`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Secret != "" || rep.Hook.HasSecret || rep.Hook.ID != "openim-invite" || rep.Hook.Callback != hook.OpenIMBeforeMembersJoinGroup || rep.Hook.Timeout != app.Duration(2*time.Second) {
		t.Fatalf("created %+v secret %q", rep.Hook, rep.Secret)
	}
	// Without a callback the reply names the command's default.
	rep, err = f.app.CreateHook(context.Background(), parseCreate(t,
		`{"actor":"ops","command":"group.create","url":"https://policy.example.com/callback","format":"openim","on_failure":"deny"}`))
	if err != nil || rep.Hook.Callback != hook.OpenIMBeforeCreateGroup {
		t.Fatalf("default callback: %+v %v", rep.Hook, err)
	}
}

func TestCreateRefusals(t *testing.T) {
	f := newApp(t)
	base := map[string]any{"actor": "ops", "command": "member.invite", "url": "https://policy.example.com/x", "format": "standard", "on_failure": "deny"}
	for _, tc := range []struct {
		name string
		mod  map[string]any
		drop string
		want string // in the message
	}{
		{name: "no on_failure", drop: "on_failure", want: "on_failure"},
		{name: "on_failure empty", mod: map[string]any{"on_failure": ""}, want: "on_failure"},
		{name: "no actor", drop: "actor", want: "actor"},
		{name: "no format", drop: "format", want: "format"},
		{name: "no url", drop: "url", want: "url: required"},
		{name: "unknown command", mod: map[string]any{"command": "member.quit"}, want: "cannot be guarded"},
		{name: "unknown field", mod: map[string]any{"secrets": []string{"x"}}, want: "secrets"},
		{name: "timeout too long", mod: map[string]any{"timeout": "31s"}, want: "timeout"},
		{name: "timeout too short", mod: map[string]any{"timeout": "1ms"}, want: "timeout"},
		{name: "timeout not a duration", mod: map[string]any{"timeout": "5"}, want: "timeout"},
		{name: "callback on standard", mod: map[string]any{"callback": hook.OpenIMBeforeInviteJoinGroup}, want: "callback"},
		{name: "callback of another command", mod: map[string]any{"format": "openim", "callback": hook.OpenIMBeforeCreateGroup}, want: "callback"},
		{name: "secret on openim", mod: map[string]any{"format": "openim", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, want: "not signed"},
		{name: "bad secret", mod: map[string]any{"secret": "hunter2"}, want: "secret"},
		{name: "loopback", mod: map[string]any{"url": "http://127.0.0.1:8080/x"}, want: "not allowed"},
		{name: "localhost", mod: map[string]any{"url": "http://localhost:8080/x"}, want: "not allowed"},
		{name: "metadata", mod: map[string]any{"url": "http://169.254.169.254/latest"}, want: "not allowed"},
		{name: "private by name", mod: map[string]any{"url": "https://internal.example.com/x"}, want: "not allowed"},
		{name: "private beside public", mod: map[string]any{"url": "https://mixed.example.com/x"}, want: "192.168.1.10"},
		{name: "numeric IPv4 form", mod: map[string]any{"url": "http://2130706433/x"}, want: "url"},
		{name: "unresolvable", mod: map[string]any{"url": "https://nowhere.example.com/x"}, want: "does not resolve"},
		{name: "user info", mod: map[string]any{"url": "https://u:p@policy.example.com/x"}, want: "user info"},
		{name: "scheme", mod: map[string]any{"url": "ftp://policy.example.com/x"}, want: "scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{}
			for k, v := range base {
				body[k] = v
			}
			delete(body, tc.drop)
			for k, v := range tc.mod {
				body[k] = v
			}
			b, _ := json.Marshal(body)
			r, err := app.ParseCreate(b)
			if err == nil {
				_, err = f.app.CreateHook(context.Background(), r)
			}
			if events.CodeOf(err) != events.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want invalid_argument naming %q, have %v", tc.want, err)
			}
		})
	}
	if n := len(f.changes()); n != 0 {
		t.Fatalf("refused creates recorded %d changes", n)
	}
	if hs, _ := f.store.List(context.Background()); len(hs) != 0 {
		t.Fatalf("refused creates stored %d hooks", len(hs))
	}
}

// The operator allowlist admits a range the guard refuses by default.
func TestCreateAllowlisted(t *testing.T) {
	f := newApp(t, "127.0.0.0/8", "::1/128")
	if _, err := f.app.CreateHook(context.Background(), parseCreate(t,
		`{"actor":"ops","command":"member.join","url":"http://localhost:9000/hook","format":"standard","on_failure":"allow"}`)); err != nil {
		t.Fatal(err)
	}
}

func TestCreateTakenID(t *testing.T) {
	f := newApp(t)
	body := `{"actor":"ops","id":"h1","command":"member.join","url":"https://policy.example.com/x","format":"openim","on_failure":"allow"}`
	if _, err := f.app.CreateHook(context.Background(), parseCreate(t, body)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.CreateHook(context.Background(), parseCreate(t, body)); events.CodeOf(err) != events.CodeAlreadyExists {
		t.Fatalf("want already_exists, have %v", err)
	}
}

func TestUpdate(t *testing.T) {
	f := newApp(t)
	ctx := context.Background()
	created, err := f.app.CreateHook(ctx, parseCreate(t, `{"actor":"ops","id":"h1","command":"member.invite","url":"https://policy.example.com/a","format":"standard","on_failure":"deny"}`))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	update := func(body string) (app.HookReply, error) {
		r, err := app.ParseUpdate([]byte(body))
		if err != nil {
			return app.HookReply{}, err
		}
		return f.app.UpdateHook(ctx, r)
	}
	rep, err := update(`{"actor":"alice","id":"h1","on_failure":"allow","timeout":"1500ms","url":"https://policy.example.com/b"}`)
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Hook
	if h.OnFailure != hook.Allow || h.Timeout != app.Duration(1500*time.Millisecond) || h.URL != "https://policy.example.com/b" ||
		h.UpdatedBy != "alice" || h.CreatedBy != "ops" || !h.UpdatedAt.After(h.CreatedAt) || rep.Secret != "" {
		t.Fatalf("updated %+v", rep)
	}
	// The same again changes nothing and records nothing.
	if _, err := update(`{"actor":"bob","id":"h1","on_failure":"allow"}`); err != nil {
		t.Fatal(err)
	}
	// A new secret replaces the old one; the reply does not show it.
	const next = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rep, err = update(`{"actor":"alice","id":"h1","secret":"` + next + `"}`)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), next[6:]) {
		t.Fatalf("update reply shows the secret: %s", b)
	}
	if hs := f.store.ForCommand("member.invite"); hs[0].Secrets[0] != next || len(hs[0].Secrets) != 1 {
		t.Fatal("secret not replaced")
	}
	ch := f.changes()
	if len(ch) != 3 || ch[1].Change != "updated" || ch[1].Actor != "alice" || !strings.Contains(ch[1].Before, `"on_failure":"deny"`) ||
		!strings.Contains(ch[1].After, `"on_failure":"allow"`) || !strings.Contains(ch[1].After, `"updated_by":"alice"`) {
		t.Fatalf("audit: %+v", ch)
	}
	for _, c := range ch {
		if strings.Contains(c.Before+c.After, created.Secret[6:]) || strings.Contains(c.Before+c.After, next[6:]) {
			t.Fatalf("a secret reached the audit trail: %+v", c)
		}
	}
	for _, tc := range []struct{ name, body string }{
		{"url refused by the guard", `{"actor":"a","id":"h1","url":"http://10.0.0.1/x"}`},
		{"empty url", `{"actor":"a","id":"h1","url":""}`},
		{"command is fixed", `{"actor":"a","id":"h1","command":"member.join"}`},
		{"format is fixed", `{"actor":"a","id":"h1","format":"openim"}`},
		{"callback on standard", `{"actor":"a","id":"h1","callback":"` + hook.OpenIMBeforeInviteJoinGroup + `"}`},
		{"bad on_failure", `{"actor":"a","id":"h1","on_failure":"maybe"}`},
		{"no actor", `{"id":"h1","on_failure":"deny"}`},
		{"bad secret", `{"actor":"a","id":"h1","secret":"nope"}`},
	} {
		if _, err := update(tc.body); events.CodeOf(err) != events.CodeInvalidArgument {
			t.Errorf("%s: want invalid_argument, have %v", tc.name, err)
		}
	}
	if _, err := update(`{"actor":"a","id":"nope","on_failure":"deny"}`); events.CodeOf(err) != events.CodeNotFound {
		t.Fatalf("update of a missing hook: want not_found, have %v", err)
	}
	if n := len(f.changes()); n != 3 {
		t.Fatalf("refused updates were recorded: %d changes", n)
	}
}

func TestDelete(t *testing.T) {
	f := newApp(t)
	ctx := context.Background()
	if _, err := f.app.CreateHook(ctx, parseCreate(t, `{"actor":"ops","id":"h1","command":"member.remove","url":"https://policy.example.com/a","format":"openim","on_failure":"deny"}`)); err != nil {
		t.Fatal(err)
	}
	r, err := app.ParseID([]byte(`{"id":"h1"}`), true)
	if err == nil {
		t.Fatal("delete without an actor parsed")
	}
	r, err = app.ParseID([]byte(`{"id":"h1","actor":"ops"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.app.DeleteHook(ctx, r)
	if err != nil || rep.Hook.ID != "h1" {
		t.Fatalf("delete: %+v %v", rep, err)
	}
	if _, err := f.app.GetHook(ctx, app.IDRequest{ID: "h1"}); events.CodeOf(err) != events.CodeNotFound {
		t.Fatalf("get after delete: want not_found, have %v", err)
	}
	if _, err := f.app.DeleteHook(ctx, r); events.CodeOf(err) != events.CodeNotFound {
		t.Fatalf("delete again: want not_found, have %v", err)
	}
	ch := f.changes()
	if len(ch) != 2 || ch[1].Change != "deleted" || ch[1].After != "" || !strings.Contains(ch[1].Before, `"id":"h1"`) || ch[1].Command != "member.remove" {
		t.Fatalf("audit: %+v", ch)
	}
}

func TestListByCommandInCallOrder(t *testing.T) {
	f := newApp(t)
	ctx := context.Background()
	for _, id := range []string{"z", "a", "m"} {
		if _, err := f.app.CreateHook(ctx, parseCreate(t, `{"actor":"ops","id":"`+id+`","command":"member.join","url":"https://policy.example.com/a","format":"openim","on_failure":"deny"}`)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
	if _, err := f.app.CreateHook(ctx, parseCreate(t, `{"actor":"ops","id":"g","command":"group.create","url":"https://policy.example.com/a","format":"openim","on_failure":"deny"}`)); err != nil {
		t.Fatal(err)
	}
	r, err := app.ParseList([]byte(`{"command":"member.join"}`))
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.app.ListHooks(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range list.Hooks {
		ids = append(ids, h.ID)
	}
	if fmt.Sprint(ids) != "[z a m]" {
		t.Fatalf("want [z a m], have %v", ids)
	}
	all, _ := f.app.ListHooks(ctx, app.ListRequest{})
	if len(all.Hooks) != 4 {
		t.Fatalf("want 4 hooks, have %d", len(all.Hooks))
	}
	for _, body := range []string{`{"command":"nope"}`, `{"x":1}`, `[]`} {
		if _, err := app.ParseList([]byte(body)); events.CodeOf(err) != events.CodeInvalidArgument {
			t.Errorf("list %s: want invalid_argument, have %v", body, err)
		}
	}
	if _, err := app.ParseList(nil); err != nil {
		t.Fatalf("empty list body: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := app.New(app.Config{})
	if err == nil || !strings.Contains(err.Error(), "Hooks") || !strings.Contains(err.Error(), "Guard") {
		t.Fatalf("want both missing dependencies named, have %v", err)
	}
}
