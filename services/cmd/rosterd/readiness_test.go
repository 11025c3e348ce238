package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// freePort is a port nothing listens on (for a server a test starts later).
func freePort(t *testing.T) int {
	t.Helper()
	_, p, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// probe GETs path on addr and returns the status and body.
func probe(addr, path string) (int, string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

func wantStatus(addr, path string, want int) func() error {
	return func() error {
		code, body, err := probe(addr, path)
		if err != nil {
			return err
		}
		if code != want {
			return fmt.Errorf("%s: %d %q, want %d", path, code, body, want)
		}
		return nil
	}
}

// daemon is a rosterd process whose log and exit a test watches.
type daemon struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.Write(p)
}

func (d *daemon) logged() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// alive fails the test when the process has exited.
func (d *daemon) alive(t *testing.T) {
	t.Helper()
	select {
	case <-d.exited:
		t.Fatalf("rosterd exited (%v):\n%s", d.cmd.ProcessState, d.logged())
	default:
	}
}

// startDaemon runs rosterd with args (logging at info), stopped by SIGTERM
// when the test ends.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{exited: make(chan struct{})}
	d.cmd = exec.Command(os.Args[0], args...)
	d.cmd.Env = append(os.Environ(), "ROSTERD_TEST_EXEC=1", "ROSTER_LOG_LEVEL=info",
		// A dispatcher needs a key to seal webhook secrets (ADR 0055).
		"ROSTER_WEBHOOK_SECRET_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	d.cmd.Stderr = d
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("rosterd %v log:\n%s", args, d.logged())
		}
	})
	return d
}

// TestDispatcherStartsBeforeNATS: "rosterd dispatcher" started while its
// NATS server does not exist yet keeps trying (it exited before, at its
// first provisioning). /healthz says it lives, /readyz says 503 until the
// server comes up, then 200 once roster-webhooks serves.
func TestDispatcherStartsBeforeNATS(t *testing.T) {
	natsPort, metrics := freePort(t), freeAddr(t)
	d := startDaemon(t, "dispatcher", "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", natsPort), "--metrics-addr", metrics)

	natstest.Eventually(t, 10*time.Second, wantStatus(metrics, "/healthz", http.StatusOK))
	if err := wantStatus(metrics, "/readyz", http.StatusServiceUnavailable)(); err != nil {
		t.Fatal(err)
	}
	// Long enough for the old dispatcher to have given up (it failed
	// within its first 5s JetStream timeout): three connection retries.
	natstest.Eventually(t, 10*time.Second, func() error {
		d.alive(t)
		if strings.Count(d.logged(), "connecting to NATS") < 3 {
			return errors.New("no retry logged yet")
		}
		return nil
	})

	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: natsPort, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	natstest.Eventually(t, 30*time.Second, wantStatus(metrics, "/readyz", http.StatusOK))
	d.alive(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request(webhook.SubjectPrefix+"list", []byte(`{}`), 5*time.Second); err != nil {
		t.Fatalf("roster-webhooks after readiness: %v", err)
	}
}

// TestGroupsWaitsForAMetaLeader: "rosterd groups --replicas 3" started
// against a cluster that has lost its quorum (no JetStream meta leader)
// retries provisioning with backoff instead of exiting, and serves once
// the cluster has a leader again; /readyz flips from 503 to 200.
func TestGroupsWaitsForAMetaLeader(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	c.Stop(1)
	c.Stop(2)
	metrics := freeAddr(t)
	d := startDaemon(t, "groups", "--replicas", "3", "--nats-url", c.URLs(), "--metrics-addr", metrics)

	natstest.Eventually(t, 20*time.Second, func() error {
		d.alive(t)
		if !strings.Contains(d.logged(), "starting groups failed") {
			return errors.New("no provisioning retry logged yet")
		}
		return nil
	})
	if err := wantStatus(metrics, "/readyz", http.StatusServiceUnavailable)(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(d.logged(), "\n") {
		if strings.Contains(line, "starting groups failed") {
			t.Logf("retried: %s", line)
			break
		}
	}
	c.Restart(t, 1)
	c.Restart(t, 2)
	natstest.Eventually(t, 40*time.Second, wantStatus(metrics, "/readyz", http.StatusOK))
	d.alive(t)
	natstest.WaitEndpoints(t, c.NC, groups.ServiceName, len(groups.CommandNames()))
}

// TestDispatcherSurvivesNATSRestart: the NATS server of a serving
// dispatcher goes away and comes back on the same store. The process stays
// up; /readyz says 503 while NATS is gone and 200 again once the
// dispatcher serves (restarted by its supervisor if a component failed).
func TestDispatcherSurvivesNATSRestart(t *testing.T) {
	natsPort, metrics, dir := freePort(t), freeAddr(t), t.TempDir()
	startNATS := func() *server.Server {
		ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: natsPort, StoreDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	ns := startNATS()
	d := startDaemon(t, "dispatcher", "--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", natsPort), "--metrics-addr", metrics)
	natstest.Eventually(t, 20*time.Second, wantStatus(metrics, "/readyz", http.StatusOK))

	ns.Shutdown()
	ns.WaitForShutdown()
	natstest.Eventually(t, 10*time.Second, wantStatus(metrics, "/readyz", http.StatusServiceUnavailable))
	if err := wantStatus(metrics, "/healthz", http.StatusOK)(); err != nil {
		t.Fatal(err)
	}
	d.alive(t)

	ns = startNATS()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	natstest.Eventually(t, 30*time.Second, wantStatus(metrics, "/readyz", http.StatusOK))
	d.alive(t)
}
