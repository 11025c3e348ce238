package console_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestPolicyPage: a hook created from the console (as console-dev) guards
// member.invite; its receiver is down, so each invite is a failed decision
// (on_failure allow lets it through) until the breaker opens, and the
// page shows the decisions, the failures and the breaker open; the group's
// history has the decisions; deleting the hook from the console removes it.
func TestPolicyPage(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t, s.url)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/hook"
	l.Close() // nothing listens there now: every call is a connect failure

	tok := b.csrf("/policy")
	code, body, _ := b.post("/policy/hooks", url.Values{"csrf": {tok}, "id": {"hk1"}, "command": {"member.invite"}, "url": {dead},
		"format": {"openim"}, "timeout": {"1s"}, "on_failure": {"allow"}}, nil)
	if code != http.StatusOK || !strings.Contains(body, "Policy hook hk1 created") {
		t.Fatalf("create hook: %d:\n%s", code, body)
	}
	s.request(t, "roster.cmd.group.create", map[string]any{"group_id": "GP", "actor": "o", "name": "P"})
	// The groups service sees the hook through its view: wait until an
	// invite is decided with it.
	natstest.Eventually(t, 10*time.Second, func() error {
		_, page := b.get("/policy")
		if !strings.Contains(page, `data-hook="hk1"`) {
			return fmt.Errorf("hook not listed")
		}
		return nil
	})
	for i := range 8 {
		s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": "GP", "actor": "o", "user_ids": []string{fmt.Sprintf("u%d", i)}})
	}
	natstest.Eventually(t, 20*time.Second, func() error {
		_, page := b.get("/policy")
		row := regexp.MustCompile(`(?s)<tr data-hook="hk1".*?</tr>`).FindString(page)
		for _, want := range []string{"member.invite", "openim", "allow", "failed 5", "skipped", "<code>connect</code>", `<span class="pill bad">open</span>`} {
			if !strings.Contains(row, want) {
				return fmt.Errorf("hook row lacks %q:\n%s", want, row)
			}
		}
		if !strings.Contains(page, `<td>hk1</td><td>member.invite</td>`) {
			return fmt.Errorf("no decision rows")
		}
		return nil
	})
	natstest.Eventually(t, 10*time.Second, func() error {
		_, page := b.get("/groups/GP")
		if !strings.Contains(page, "hook hk1 on member.invite") || !strings.Contains(page, "skipped") {
			return fmt.Errorf("group history lacks the decisions")
		}
		return nil
	})
	code, _, hdr := b.post("/policy/hooks/hk1/delete", url.Values{"csrf": {tok}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/policy" {
		t.Fatalf("delete hook: %d %q", code, hdr.Get("Location"))
	}
	if _, page := b.get("/policy"); strings.Contains(page, `data-hook="hk1"`) || !strings.Contains(page, "Policy hook hk1 deleted") {
		t.Fatalf("after delete: the hook is still listed or no message")
	}
}
