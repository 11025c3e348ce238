//go:build slow

package console_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/services/internal/demo"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// chromium is Debian's chromium (scripts/test installs it), or
// $ROSTER_CHROMIUM.
func chromium() string {
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// artifacts is where the screenshots go: $ROSTER_ARTIFACTS/console, or a
// temporary directory the test logs.
func artifacts(t *testing.T) string {
	dir := t.TempDir()
	if a := os.Getenv("ROSTER_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// TestConsoleInChromium plays the seed scenario and looks at it as a person
// would, in headless Chromium: the overview shows the endpoint paused with
// its reason, its page shows the {"actionCode":0}Callback ok the receiver
// answered, a click on Resume delivers every event, and the group's slider
// shows the members at each version. One screenshot per page.
func TestConsoleInChromium(t *testing.T) {
	s := startStack(t, nil)
	const g, ep = "GA", "ep-openim"
	s.createPausingEndpoint(t, ep, g)
	s.seed(t, g)
	s.waitPaused(t, ep)
	shots := artifacts(t)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium()), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf), chromedp.WithListener(func(ev any) { browserLog(t, ev) }))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 50*time.Second)
	defer cancelT()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			t.Fatalf("%s: %v (at %s after %s)", what, err, loc, time.Since(start))
		}
		t.Logf("%s: %s", what, time.Since(start))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// waitFor polls a JavaScript predicate in the page.
	waitFor := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Overview: the paused endpoint first, with its reason; times are
	// shown in the browser's zone (console.js rewrote them).
	do("overview", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`tr.paused[data-endpoint="ep-openim"]`)))
	if row := text(`tr.paused[data-endpoint="ep-openim"]`); !strings.Contains(row, "3 consecutive failed attempts (last: invalid_response)") {
		t.Fatalf("overview row: %q", row)
	}
	if banner := text(".banner"); !strings.Contains(banner, "no login") {
		t.Fatalf("dev banner: %q", banner)
	}
	waitFor("local times", `document.querySelectorAll("time[data-local]").length > 0`)
	shot("overview")

	// The endpoint page, reached by the link: the body the receiver
	// answered, as text.
	do("endpoint", chromedp.Click(chromedp.CSS(`a[href="/endpoints/ep-openim"]`)), chromedp.WaitVisible(chromedp.CSS(`#attempts`)))
	waitFor("the response body", fmt.Sprintf(`[...document.querySelectorAll("#attempts pre.body")].some(e => e.textContent === %q)`, demo.BadBody))
	waitFor("the charts", `document.querySelectorAll(".chart .uplot").length === 2`)
	shot("endpoint")

	// Resume: the receiver is fixed, the click delivers the held events.
	s.rv.Fix()
	do("resume", chromedp.Click(chromedp.CSS(`#resume`)), chromedp.WaitVisible(chromedp.CSS(`#pause`)))
	if flash := text(".flash.ok"); !strings.Contains(flash, "resumed") {
		t.Fatalf("after resume: %q", flash)
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		return boolErr(s.rv.GoodCount() == 4, fmt.Sprintf("receiver acknowledged %d of 4", s.rv.GoodCount()))
	})
	// Every event shows delivered on the page once the trail has it.
	natstest.Eventually(t, 20*time.Second, func() error {
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#attempts`))); err != nil {
			return err
		}
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#attempts tbody tr.ok")].filter(r => r.cells[3].textContent === "resume").length`))
		if err != nil {
			return err
		}
		return boolErr(ok == 4, fmt.Sprintf("%d of 4 deliveries shown succeeded on resume", ok))
	})

	// The group: the slider walks the versions.
	do("group", chromedp.Navigate(s.url+"/groups/"+g), chromedp.WaitVisible(chromedp.CSS(`#at-version`)))
	// From the current version (4) down to 1 and back up: each move
	// changes the slider's value.
	for _, step := range []struct {
		v    int
		want string
	}{{1, "o"}, {2, "a o"}, {3, "o"}, {4, "a o"}} {
		v, want := step.v, step.want
		// The slider is swapped in with each answer: wait until htmx has
		// settled and bound the new one (a person's next drag would).
		waitFor("the slider ready", `(() => { const r = document.getElementById("at-version"); return !!r && !!r["htmx-internal-data"] && !document.querySelector(".htmx-request, .htmx-settling, .htmx-swapping"); })()`)
		js := fmt.Sprintf(`(() => { const r = document.getElementById("at-version"); r.value = "%d"; r.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, v)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
		waitFor(fmt.Sprintf("members at version %d", v), fmt.Sprintf(
			`document.getElementById("at-version-out") && document.getElementById("at-version-out").textContent === "%d" && location.search.includes("at_version=%d") && [...document.querySelectorAll("#members td.user")].map(e => e.textContent).join(" ") === %q`, v, v, want))
		if v == 2 {
			shot("group")
		}
	}

	// Events: the live tail brings a new event without a reload.
	do("events", chromedp.Navigate(s.url+"/events"), chromedp.WaitVisible(chromedp.CSS(`#events`)))
	waitFor("the seed events", `document.querySelector("#event-rows").textContent.includes("member.removed")`)
	s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{"newcomer"}})
	waitFor("the live tail", `document.querySelector("#event-rows").textContent.includes("newcomer")`)
	shot("events")

	// Policy: a hook whose receiver is down fails every call until its
	// breaker opens; the page shows it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/hook"
	l.Close()
	s.request(t, "roster.policy.hook.create", map[string]any{"actor": "ops", "id": "hk-invite", "command": "member.invite", "url": dead,
		"format": "openim", "timeout": "1s", "on_failure": "allow"})
	natstest.Eventually(t, 20*time.Second, func() error {
		s.request(t, "roster.cmd.member.invite", map[string]any{"group_id": g, "actor": "o", "user_ids": []string{fmt.Sprintf("p%d", time.Now().UnixNano())}})
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/policy"), chromedp.WaitVisible(chromedp.CSS(`#hooks`))); err != nil {
			return err
		}
		open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('tr[data-hook="hk-invite"] .pill.bad') || {}).textContent === "open"`))
		if err != nil {
			return err
		}
		return boolErr(open, "breaker not shown open yet")
	})
	shot("policy")
}

// browserLog logs what the page logs: console messages, exceptions, CSP
// violations.
func browserLog(t *testing.T, ev any) {
	switch e := ev.(type) {
	case *cdplog.EventEntryAdded:
		t.Logf("browser %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
	case *cdpruntime.EventExceptionThrown:
		t.Logf("browser exception: %s", e.ExceptionDetails.Text)
	case *cdpruntime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			args = append(args, string(a.Value))
		}
		t.Logf("browser console.%s: %v", e.Type, args)
	}
}
