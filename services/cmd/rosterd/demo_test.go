package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
)

// testDemoDSN names a ClickHouse database of the test's own, dropped at cleanup.
func testDemoDSN(t *testing.T) (dsn, db string) {
	t.Helper()
	return audittest.DSN(t, "roster_test_demo_")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runDemoProcess runs "rosterd dev --demo" as a real process (the test
// binary re-executed as rosterd) and returns its exit error, stdout and
// stderr.
func runDemoProcess(t *testing.T, dsn string, timeout time.Duration) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "dev", "--demo", "--listen", freeAddr(t), "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "ROSTERD_TEST_EXEC=1", "ROSTER_CLICKHOUSE_DSN="+dsn, "ROSTER_CONSOLE_LISTEN="+freeAddr(t))
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("rosterd dev --demo did not finish within %s\nstdout:\n%s\nstderr:\n%s", timeout, &outBuf, &errBuf)
	}
	return outBuf.String(), errBuf.String(), err
}

// TestDemoEndToEnd runs "rosterd dev --demo" against the embedded NATS and
// a real ClickHouse: it exits 0 and its report, read from the audit
// tables, names the four accepted commands, the invalid responses, the
// automatic pause, the resume and the four deliveries; the tables hold the
// same rows.
func TestDemoEndToEnd(t *testing.T) {
	dsn, db := testDemoDSN(t)
	out, stderr, err := runDemoProcess(t, dsn, 2*time.Minute)
	if err != nil {
		t.Fatalf("rosterd dev --demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	t.Logf("demo output:\n%s", out)

	for _, want := range []string{
		"accepted, version 1", "accepted, version 4",
		"paused by system: 3 consecutive failed attempts (last: invalid_response)",
		"the receiver acknowledged 4 events",
		"What the audit trail says (ClickHouse database " + db,
		"commands: 4 accepted",
		"events: 4",
		"delivery_attempts: 3 invalid responses, then 4 deliveries",
		"endpoint_changes: 3",
		"In short: 4 commands accepted at once; 3 invalid responses",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The report's rows, by table.
	lines := func(re string) int { return len(regexp.MustCompile(`(?m)`+re).FindAllString(out, -1)) }
	for _, c := range []struct {
		name, re string
		want     int
	}{
		{"accepted command rows", `^\s+\S+\s+roster\.cmd\.\S+\s+o\s+accepted\s+\d\s`, 4},
		{"event rows", `^\s+\d\s+\d+\s+(group\.created|member\.invited|member\.removed)\s+o\s`, 4},
		{"invalid responses", `^\s+\S+\s+v1 group\.created\s+[123]\s+scheduled\s+200\s+invalid_response\s+msg_`, 3},
		{"deliveries after resume", `^\s+\S+\s+v\d \S+\s+\d\s+resume\s+200\s+delivered\s+msg_`, 4},
		{"created", `^\s+\S+\s+created\s+ops\s+no`, 1},
		{"automatic pause", `^\s+\S+\s+paused\s+system\s+yes\s+3 consecutive failed attempts`, 1},
		{"resume", `^\s+\S+\s+resumed\s+ops\s+no`, 1},
	} {
		if have := lines(c.re); have != c.want {
			t.Errorf("%s: want %d lines, have %d", c.name, c.want, have)
		}
	}

	// The same facts straight from ClickHouse (the demo also deleted its
	// endpoint on the way out, and waited for that fourth change's row).
	m := regexp.MustCompile(`group\s+(A-[0-9a-f]+), owner o`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("output names no group")
	}
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := audit.Reader{Conn: conn, DB: db}
	ctx := context.Background()
	cmds, err := r.Commands(ctx, audit.Filter{GroupID: m[1]})
	if err != nil || len(cmds) != 4 {
		t.Fatalf("commands of %s: want 4, have %d (%v)", m[1], len(cmds), err)
	}
	changes, err := r.EndpointChanges(ctx, audit.Filter{GroupID: m[1]})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range changes {
		kinds = append(kinds, c.Change)
	}
	if fmt.Sprint(kinds) != "[created paused resumed deleted]" {
		t.Errorf("endpoint changes: want [created paused resumed deleted], have %v", kinds)
	}
}

// TestDemoWithoutClickHouse: the demo refuses to start, with a clear error
// and a non-zero exit, when ClickHouse does not answer.
func TestDemoWithoutClickHouse(t *testing.T) {
	out, stderr, err := runDemoProcess(t, "clickhouse://nobody:s3cret@"+freeAddr(t)+"/roster", time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("want a non-zero exit, have %v\nstdout:\n%s", err, out)
	}
	if !strings.Contains(stderr, "ClickHouse at clickhouse://127.0.0.1:") || !strings.Contains(stderr, "scripts/dev starts one") {
		t.Errorf("want an error naming ClickHouse and how to start it, have:\n%s", stderr)
	}
	if strings.Contains(stderr+out, "s3cret") {
		t.Error("the DSN's password is echoed")
	}
	if strings.Contains(out, "accepted, version") {
		t.Errorf("the demo played commands without ClickHouse:\n%s", out)
	}
}
