//go:build slow

package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit/audittest"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The rosterd binary is built once per test run (without -race: the
// services are the system under test, the race detector belongs to the
// test process) into a directory TestMain removes.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roster-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func rosterdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "rosterd")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/rosterhq/roster/services/cmd/rosterd")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build rosterd: %w\n%s", err, out.String())
			return
		}
		t.Logf("built rosterd in %s", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testDSN names a ClickHouse database of the test's own, dropped at cleanup.
func testDSN(t *testing.T) (dsn, db string) {
	t.Helper()
	return audittest.DSN(t, "roster_test_faults_")
}

// topology is the NATS deployment under test.
type topology interface {
	name() string
	urls() string
	replicas() int
	// stopLeader stops the server that leads ROSTER_EVENTS and names it.
	stopLeader(t *testing.T) (node string)
	// restartLeader starts the server stopLeader stopped, on its ports and
	// store, and returns once the event stream is current again.
	restartLeader(t *testing.T)
	// servers are the running servers.
	servers() []*server.Server
}

// standalone is one nats-server that the suite stops and starts again on
// the same port and store directory, as its supervisor would.
type standalone struct {
	port int
	dir  string
	mu   sync.Mutex
	ns   *server.Server
}

func startStandalone(t *testing.T) *standalone {
	t.Helper()
	_, p, _ := net.SplitHostPort(freeAddr(t))
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &standalone{port: port, dir: t.TempDir()}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *standalone) start() error {
	// fsync before every acknowledgement, as deploy/nats-server.conf runs
	// it (docs/adr/0003).
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Port: s.port, StoreDir: s.dir, SyncAlways: true, StartTimeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("start nats-server: %w", err)
	}
	s.mu.Lock()
	s.ns = ns
	s.mu.Unlock()
	return nil
}

func (s *standalone) stop() {
	s.mu.Lock()
	ns := s.ns
	s.ns = nil
	s.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

func (s *standalone) name() string  { return "standalone" }
func (s *standalone) urls() string  { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }
func (s *standalone) replicas() int { return 1 }
func (s *standalone) stopLeader(*testing.T) string {
	s.stop()
	return "roster-embedded"
}
func (s *standalone) servers() []*server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return nil
	}
	return []*server.Server{s.ns}
}
func (s *standalone) restartLeader(t *testing.T) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// cluster is a 3-node JetStream cluster on loopback.
type cluster struct {
	c       *natstest.Cluster
	stopped int
}

func (c *cluster) name() string  { return "cluster" }
func (c *cluster) urls() string  { return c.c.URLs() }
func (c *cluster) replicas() int { return 3 }
func (c *cluster) stopLeader(t *testing.T) string {
	t.Helper()
	c.stopped = c.c.StreamLeader(t, events.StreamName, 30*time.Second)
	c.c.Stop(c.stopped)
	return c.c.NodeName(c.stopped)
}
func (c *cluster) servers() []*server.Server {
	var ss []*server.Server
	for i := range c.c.Size() {
		if ns := c.c.Server(i); ns != nil {
			ss = append(ss, ns)
		}
	}
	return ss
}
func (c *cluster) restartLeader(t *testing.T) {
	t.Helper()
	c.c.Restart(t, c.stopped)
	c.c.WaitStreamCurrent(t, events.StreamName, 60*time.Second)
}

// proc is one rosterd child process under a supervisor: an exit the suite
// did not ask for is recorded (a test failure) and the process is started
// again, as systemd's Restart=always would.
type proc struct {
	h       *harness
	name    string
	args    []string
	metrics string
	log     string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	expected bool
	starts   int
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(f, "=== start %d at %s\n", p.starts, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.h.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "ROSTER_LOG_LEVEL=info")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.expected = cmd, done, false
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		expected := p.expected
		p.mu.Unlock()
		close(done)
		if expected || p.h.stopping.Load() {
			return
		}
		p.h.unexpectedExit(fmt.Sprintf("%s exited by itself (start %d): %v", p.name, p.starts, err))
		// The supervisor's restart delay (systemd RestartSec).
		time.AfterFunc(time.Second, func() {
			if p.h.stopping.Load() {
				return
			}
			if err := p.start(); err != nil {
				p.h.unexpectedExit(fmt.Sprintf("%s: restart failed: %v", p.name, err))
			}
		})
	}()
	return nil
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	p.mu.Lock()
	p.expected = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// terminate stops the process politely (SIGTERM), then kills it.
func (p *proc) terminate() {
	p.mu.Lock()
	p.expected = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// healthy reports whether the process's /readyz answers ok: it is up,
// connected to NATS, and every service it runs serves.
func (p *proc) healthy() error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + p.metrics + "/readyz")
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: readyz %d: %s", p.name, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// tail returns the process's last n warnings and errors and its last
// three lines.
func (p *proc) tail(n int) string {
	f, err := os.Open(p.log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var warn, last []string
	keep := func(l []string, line string, n int) []string {
		l = append(l, line)
		if len(l) > n {
			l = l[1:]
		}
		return l
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > 600 {
			line = line[:600] + "..."
		}
		if strings.Contains(line, `"level":"warn"`) || strings.Contains(line, `"level":"error"`) || strings.HasPrefix(line, "rosterd:") {
			warn = keep(warn, line, n)
		}
		last = keep(last, line, 3)
	}
	return strings.Join(warn, "\n") + "\n...\n" + strings.Join(last, "\n")
}

// harness runs Roster's services as processes against one topology.
type harness struct {
	t        *testing.T
	topo     topology
	bin      string
	dsn, db  string
	nc       *nats.Conn
	js       jetstream.JetStream
	procs    map[string]*proc
	order    []string
	stopping atomic.Bool

	mu         sync.Mutex
	unexpected []string
}

func (h *harness) unexpectedExit(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unexpected = append(h.unexpected, time.Now().UTC().Format(time.TimeOnly)+" "+msg)
}

func (h *harness) unexpectedExits() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.unexpected...)
}

// The services and how many of each the suite runs (docs/operations.md).
var layout = []struct {
	service string
	n       int
}{
	{"auditsink", 1},
	{"groups", 2},
	{"projector", 1},
	{"query", 1},
	{"dispatcher", 2},
}

func newHarness(t *testing.T, topo topology) *harness {
	t.Helper()
	h := &harness{t: t, topo: topo, bin: rosterdBinary(t), procs: map[string]*proc{}}
	// Created before the cleanup below is registered, so it is removed
	// after the failure report has read the logs (cleanups run last first).
	logs := t.TempDir()
	// The key that encrypts webhook secrets at rest (the dispatchers need
	// one; every process gets the same flags).
	keyFile := filepath.Join(logs, "webhook-secret.key")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.dsn, h.db = testDSN(t)
	nc, err := nats.Connect(topo.urls(), nats.Name("faults-test"), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	h.nc = nc
	if h.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The logs as they were when the test ended, before shutdown noise.
		if t.Failed() {
			t.Logf("consumers:\n%s", h.describeConsumers())
			for _, n := range h.order {
				t.Logf("--- %s, last warnings and errors, then last lines:\n%s", n, h.procs[n].tail(20))
			}
		}
		h.stopping.Store(true)
		var wg sync.WaitGroup
		for _, p := range h.procs {
			wg.Add(1)
			go func() { defer wg.Done(); p.terminate() }()
		}
		wg.Wait()
	})
	for _, l := range layout {
		for i := 1; i <= l.n; i++ {
			name := fmt.Sprintf("%s-%d", l.service, i)
			p := &proc{h: h, name: name, metrics: freeAddr(t), log: filepath.Join(logs, name+".log")}
			p.args = []string{l.service, "--nats-url", topo.urls(), "--replicas", fmt.Sprint(topo.replicas()),
				"--clickhouse-dsn", h.dsn, "--metrics-addr", p.metrics, "--webhook-allow-cidr", "127.0.0.0/8",
				// The test servers have no accounts: callers are unattested.
				"--trust-unattested", "--webhook-secret-key-file", keyFile}
			h.procs[name] = p
			h.order = append(h.order, name)
		}
	}
	return h
}

// startAll starts the services one after another, each once the previous
// is healthy (the first of each kind provisions its streams), and waits
// until every micro service has all its instances.
func (h *harness) startAll(t *testing.T) {
	t.Helper()
	for _, n := range h.order {
		p := h.procs[n]
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		natstest.Eventually(t, 60*time.Second, p.healthy)
	}
	for svc, n := range map[string]int{"roster-groups": 2, "roster-query": 1, "roster-webhooks": 2} {
		natstest.Eventually(t, 60*time.Second, func() error { return h.instances(svc, n) })
	}
}

// instances checks that at least n instances of a micro service answer
// $SRV.INFO with their endpoints.
func (h *harness) instances(service string, n int) error {
	inbox := nats.NewInbox()
	sub, err := h.nc.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := h.nc.PublishRequest("$SRV.INFO."+service, inbox, nil); err != nil {
		return err
	}
	have := 0
	for have < n {
		msg, err := sub.NextMsg(time.Second)
		if err != nil {
			break
		}
		var info struct {
			Endpoints []json.RawMessage `json:"endpoints"`
		}
		if json.Unmarshal(msg.Data, &info) == nil && len(info.Endpoints) > 0 {
			have++
		}
	}
	if have < n {
		return fmt.Errorf("%s: %d of %d instances answer", service, have, n)
	}
	return nil
}

// request sends one request and retries while the answer is "try again"
// (no responders, timeouts, unavailable), until deadline.
func (h *harness) request(subject string, body any, deadline time.Duration) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	end := time.Now().Add(deadline)
	for {
		msg, err := h.nc.Request(subject, b, 3*time.Second)
		if err == nil {
			var e struct {
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			_ = json.Unmarshal(msg.Data, &e)
			if e.Error == nil || !retryable(e.Error.Code) {
				return msg.Data, nil
			}
			err = fmt.Errorf("%s: %s", subject, msg.Data)
		}
		if time.Now().After(end) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func retryable(code string) bool {
	switch events.Code(code) {
	case events.CodeUnavailable, events.CodeTimeout, events.CodeConflict:
		return true
	}
	return false
}

// dropConnections closes every connection of the rosterd processes on
// every server at once, as a network blip between the services' hosts and
// NATS would: the clients reconnect (to any node) and resubscribe.
func (h *harness) dropConnections() (int, error) {
	return h.serviceConns(true)
}

// serviceConns counts the rosterd processes' connections on every server
// (and closes them when drop is set).
func (h *harness) serviceConns(drop bool) (int, error) {
	n := 0
	for _, ns := range h.topo.servers() {
		cz, err := ns.Connz(&server.ConnzOptions{Limit: 10000})
		if err != nil {
			return n, err
		}
		for _, c := range cz.Conns {
			if !strings.HasPrefix(c.Name, "rosterd-") {
				continue
			}
			if !drop || ns.DisconnectClientByID(c.Cid) == nil {
				n++
			}
		}
	}
	return n, nil
}

// describeConsumers lists the durable consumers of Roster's streams with
// their progress, for a failure report.
func (h *harness) describeConsumers() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	for name := range h.js.StreamNames(ctx).Name() {
		s, err := h.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %d msgs, last seq %d, %d consumers\n", name, s.CachedInfo().State.Msgs, s.CachedInfo().State.LastSeq, s.CachedInfo().State.Consumers)
		for ci := range s.ListConsumers(ctx).Info() {
			if ci.Config.Durable == "" {
				continue
			}
			fmt.Fprintf(&b, "  %s: pending %d, ack pending %d, redelivered %d, ack floor %d, delivered %d, waiting pulls %d\n",
				ci.Name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.AckFloor.Stream, ci.Delivered.Stream, ci.NumWaiting)
		}
	}
	return b.String()
}

// consumerWatch polls the number of consumers on ROSTER_EVENTS.
type consumerWatch struct {
	mu    sync.Mutex
	max   int
	names []string
	polls int
}

func (h *harness) watchConsumers(ctx context.Context, w *consumerWatch) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := h.js.Stream(cctx, events.StreamName)
		if err == nil {
			n := s.CachedInfo().State.Consumers
			w.mu.Lock()
			w.polls++
			if n > w.max {
				w.max = n
			}
			list := n > maxConsumers && w.names == nil
			w.mu.Unlock()
			if list {
				var names []string
				for nm := range s.ConsumerNames(cctx).Name() {
					names = append(names, nm)
				}
				sort.Strings(names)
				w.mu.Lock()
				w.names = names
				w.mu.Unlock()
			}
		}
		cancel()
	}
}

// maxConsumers bounds the consumers on ROSTER_EVENTS: the projector's, the
// fan-out's and the sink's durables, plus a few short-lived readers (history
// queries). Group loads must not add one per group.
const maxConsumers = 10

// waitFor polls cond until it returns nil or timeout passes and returns the
// last error (the caller decides whether that fails the test).
func waitFor(ctx context.Context, timeout time.Duration, cond func() error) error {
	end := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var errNotYet = errors.New("not yet")
