package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/demo"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

var demoRetry = []string{"0s", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms"}

// createPausingEndpoint registers an openim endpoint on the demo receiver
// for group g, which answers {"actionCode":0}Callback ok until fixed, and
// waits for the dispatcher to pause it.
func (s *stack) createPausingEndpoint(t *testing.T, id, g string) {
	t.Helper()
	s.request(t, "roster.webhook.endpoint.create", map[string]any{
		"actor": "ops", "id": id, "url": s.rv.URL() + "/callback", "format": "openim", "ordered": true,
		"group_ids": []string{g}, "retry_schedule": demoRetry, "timeout": "5s",
		// OpenIM 3.8 sends no after-callback for an invite: the endpoint
		// names the type to get Roster's extension (as the demo does).
		"event_types": []string{"*", "member.invited"},
	})
}

func (s *stack) waitPaused(t *testing.T, id string) {
	t.Helper()
	natstest.Eventually(t, 30*time.Second, func() error {
		r := s.request(t, "roster.webhook.endpoint.get", map[string]any{"id": id})
		if st := r["endpoint"].(map[string]any)["state"]; st != "paused" {
			return fmt.Errorf("endpoint %s is %v", id, st)
		}
		return nil
	})
}

// userCells are the user ids of the members table.
var userCell = regexp.MustCompile(`<td class="user">([^<]*)</td>`)

func members(t *testing.T, body string) []string {
	t.Helper()
	i := strings.Index(body, `id="members"`)
	j := strings.Index(body[max(i, 0):], "</table>")
	if i < 0 || j < 0 {
		t.Fatalf("no members table in:\n%s", body)
	}
	var out []string
	for _, m := range userCell.FindAllStringSubmatch(body[i:i+j], -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPagesShowTheSeedScenario plays the seed scenario against every
// service in process and reads it back through the console's pages,
// without login (the dev console): the endpoint paused after the receiver's
// {"actionCode":0}Callback ok answers, with that body shown; the resume
// button; every event delivered; the members at each version; the events
// tail; the actor of the console's actions in the audit trail.
func TestPagesShowTheSeedScenario(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t, s.url)
	const g, ep = "GA", "ep-openim"
	s.createPausingEndpoint(t, ep, g)
	s.seed(t, g)
	s.waitPaused(t, ep)

	// Overview: the paused endpoint with its reason and last failure class.
	natstest.Eventually(t, 20*time.Second, func() error {
		code, body := b.get("/")
		if code != http.StatusOK {
			return fmt.Errorf("overview: %d", code)
		}
		for _, want := range []string{"Development console: no login", `data-endpoint="ep-openim"`, "paused", "3 consecutive failed attempts",
			"<code>invalid_response</code>", "roster-groups</th><td><span class=\"pill ok\">up", "lag 0 commits"} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("overview lacks %q", want)
			}
		}
		return nil
	})

	// Endpoint page: the body the receiver answered, shown escaped.
	natstest.Eventually(t, 20*time.Second, func() error {
		code, body := b.get("/endpoints/" + ep)
		if code != http.StatusOK {
			return fmt.Errorf("endpoint page: %d", code)
		}
		if want := html.EscapeString(demo.BadBody); !strings.Contains(body, `<pre class="body">`+want+`</pre>`) {
			return fmt.Errorf("endpoint page lacks the response body %s", want)
		}
		if !strings.Contains(body, `id="resume"`) || !strings.Contains(body, `id="chart-data"`) {
			return fmt.Errorf("endpoint page lacks the resume button or the chart data")
		}
		return nil
	})

	// Resume, after the receiver is fixed: every event is delivered.
	s.rv.Fix()
	tok := b.csrf("/endpoints/" + ep)
	code, _, hdr := b.post("/endpoints/"+ep+"/resume", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/endpoints/"+ep {
		t.Fatalf("resume: want 303 to the endpoint page, have %d %q", code, hdr.Get("Location"))
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		return boolErr(s.rv.GoodCount() == 4, fmt.Sprintf("%d of 4 delivered", s.rv.GoodCount()))
	})
	_, body := b.get("/endpoints/" + ep)
	if !strings.Contains(body, "Endpoint ep-openim resumed") || !strings.Contains(body, `<span class="pill ok">active</span>`) {
		t.Fatalf("after resume: want the flash and the active state:\n%s", body)
	}

	// The resume is audited with the console operator as actor.
	q, closeQ, err := audit.OpenQueries(audit.ClickHouseConfig{DSN: s.dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQ()
	natstest.Eventually(t, 20*time.Second, func() error {
		ch, err := q.EndpointChanges(context.Background(), audit.Filter{EndpointID: ep, Status: "resumed"})
		if err != nil {
			return err
		}
		if len(ch) != 1 || ch[0].Actor != "console-dev" {
			return fmt.Errorf("resumed rows: %+v", ch)
		}
		return nil
	})

	// The group's members at every version, and the whole history.
	for v, want := range map[int]string{1: "[o]", 2: "[a o]", 3: "[o]", 4: "[a o]"} {
		code, body := b.get(fmt.Sprintf("/groups/%s?at_version=%d", g, v))
		if code != http.StatusOK {
			t.Fatalf("group at %d: %d", v, code)
		}
		if have := fmt.Sprint(members(t, body)); have != want {
			t.Errorf("members at version %d: want %s, have %s", v, want, have)
		}
		if !strings.Contains(body, fmt.Sprintf(`value="%d"`, v)) {
			t.Errorf("at version %d: the slider is not at %d", v, v)
		}
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		_, body := b.get("/groups/" + g)
		for _, want := range []string{"roster.cmd.member.remove", "member.removed", "<td>delivery</td>", "invalid_response", "succeeded"} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("group history lacks %q", want)
			}
		}
		return nil
	})

	// Events: the tail shows the four events, a replay filters by type,
	// and the tail's poll brings what came after.
	_, body = b.get("/events?group=" + g)
	for _, want := range []string{"group.created", "member.invited", "member.removed"} {
		if !strings.Contains(body, want) {
			t.Errorf("events tail lacks %s", want)
		}
	}
	_, body = b.get("/events?from_seq=1&type=member.removed")
	if strings.Contains(body, "<td>member.invited</td>") || !strings.Contains(body, "<td>member.removed</td>") {
		t.Errorf("replay filtered on member.removed shows others or not it:\n%s", body)
	}
	_, body = b.get("/events?group=" + g)
	next := regexp.MustCompile(`hx-get="/events/tail\?after=(\d+)`).FindStringSubmatch(body)
	if next == nil {
		t.Fatalf("no tail poller in:\n%s", body)
	}
	s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{"z"}})
	_, frag := b.get("/events/tail?after=" + next[1] + "&group=" + g)
	if !strings.Contains(frag, `"user_ids":["z"]`) && !strings.Contains(frag, `&#34;z&#34;`) {
		t.Errorf("tail after %s lacks the new invite:\n%s", next[1], frag)
	}
	if strings.Contains(frag, "group.created") {
		t.Errorf("tail after %s repeats older events:\n%s", next[1], frag)
	}

	// Unknown ids are 404 pages, not errors.
	if code, _ := b.get("/endpoints/nope"); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: want 404, have %d", code)
	}
	if code, _ := b.get("/groups/nope"); code != http.StatusNotFound {
		t.Errorf("unknown group: want 404, have %d", code)
	}
}

// TestActionsGoThroughTheServices: create, test, rotate, redeliver and
// delete from the console are the services' own requests, with the
// operator as actor; a secret shows once.
func TestActionsGoThroughTheServices(t *testing.T) {
	s := startStack(t, nil)
	s.rv.Fix()
	b := newBrowser(t, s.url)
	tok := b.csrf("/")
	code, body, _ := b.post("/endpoints", url.Values{"csrf": {tok}, "id": {"ep2"}, "url": {s.rv.URL() + "/hook"}, "format": {"standard"}, "group_ids": {"GB"}}, nil)
	if code != http.StatusOK || !strings.Contains(body, `value="whsec_`) {
		t.Fatalf("create: want the page with the secret, have %d:\n%s", code, body)
	}
	if _, page := b.get("/endpoints/ep2"); strings.Contains(page, "whsec_") {
		t.Fatal("the endpoint page shows a secret")
	}
	code, body, _ = b.post("/endpoints/ep2/test", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusOK || !strings.Contains(body, `id="test-outcome">Delivered`) {
		t.Fatalf("test: %d:\n%s", code, body)
	}
	code, body, _ = b.post("/endpoints/ep2/rotate-secret", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusOK || !strings.Contains(body, `value="whsec_`) {
		t.Fatalf("rotate: %d:\n%s", code, body)
	}
	s.seed(t, "GB")
	// The four events delivered, as the endpoint page shows them (the
	// test event was a fifth success).
	natstest.Eventually(t, 20*time.Second, func() error {
		_, page := b.get("/endpoints/ep2")
		n := strings.Count(page, `<tr class="ok">`)
		return boolErr(n >= 5, fmt.Sprintf("%d successful attempts shown", n))
	})
	code, _, _ = b.post("/endpoints/ep2/redeliver", url.Values{"csrf": {tok}, "since_seq": {"1"}}, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("redeliver: want 303, have %d", code)
	}
	if _, page := b.get("/endpoints/ep2"); !strings.Contains(page, "Redelivery: 4 deliveries enqueued") {
		t.Fatalf("redeliver: no result message:\n%s", page)
	}
	code, body, _ = b.post("/endpoints/ep2/redeliver", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "give a start time or a start sequence") {
		t.Fatalf("redeliver without a range: want 400 naming it, have %d", code)
	}
	code, _, _ = b.post("/endpoints/ep2/pause", url.Values{"csrf": {tok}, "reason": {"maintenance"}}, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("pause: %d", code)
	}
	r := s.request(t, "roster.webhook.endpoint.get", map[string]any{"id": "ep2"})
	if ep := r["endpoint"].(map[string]any); ep["paused_by"] != "console-dev" || ep["paused_reason"] != "maintenance" {
		t.Fatalf("pause: want paused by console-dev for maintenance, have %v", ep)
	}
	code, _, hdr := b.post("/endpoints/ep2/delete", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("delete: %d %s", code, hdr.Get("Location"))
	}
	if code, _ := b.get("/endpoints/ep2"); code != http.StatusNotFound {
		t.Fatalf("deleted endpoint: want 404, have %d", code)
	}
	q, closeQ, err := audit.OpenQueries(audit.ClickHouseConfig{DSN: s.dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQ()
	natstest.Eventually(t, 20*time.Second, func() error {
		ch, err := q.EndpointChanges(context.Background(), audit.Filter{EndpointID: "ep2"})
		if err != nil {
			return err
		}
		var have []string
		for _, c := range ch {
			have = append(have, c.Change+"/"+c.Actor)
		}
		want := "[created/console-dev secret_rotated/console-dev paused/console-dev deleted/console-dev]"
		if fmt.Sprint(have) != want {
			return fmt.Errorf("changes: want %s, have %v", want, have)
		}
		return nil
	})
}
