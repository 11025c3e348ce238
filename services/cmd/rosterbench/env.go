package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/webhook"
)

// natsEnv is an embedded NATS server with JetStream on a random port and a
// temporary store, removed by close; or, built by startCluster, a loopback
// cluster of several such servers (ns is then the first node).
type natsEnv struct {
	ns    *server.Server
	nodes []*server.Server // every node of a cluster; nil for one server
	dir   string
}

func startNATS(syncAlways bool) (*natsEnv, error) {
	dir, err := os.MkdirTemp("", "rosterbench-nats-")
	if err != nil {
		return nil, err
	}
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Port: -1, StoreDir: dir, SyncAlways: syncAlways})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &natsEnv{ns: ns, dir: dir}, nil
}

// url is the server's client URL; for a cluster every node's,
// comma-separated (what nats.Connect and --nats-url take).
func (e *natsEnv) url() string {
	if len(e.nodes) == 0 {
		return e.ns.ClientURL()
	}
	urls := make([]string, len(e.nodes))
	for i, ns := range e.nodes {
		urls[i] = ns.ClientURL()
	}
	return strings.Join(urls, ",")
}

func (e *natsEnv) close() {
	nodes := e.nodes
	if len(nodes) == 0 {
		nodes = []*server.Server{e.ns}
	} else {
		e.logLeaders()
	}
	for _, ns := range nodes {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	_ = os.RemoveAll(e.dir)
}

// connect opens a client connection and its JetStream context. Given a
// cluster's URL list it connects to the first node (DontRandomize), so the
// services of a probe sit on the same node in every run.
func connect(url, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.DontRandomize())
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", name, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// connPool is a set of client connections, one per simulated client, so a
// benchmark client does not share a socket (and its flusher) with others.
type connPool struct {
	ncs []*nats.Conn
	jss []jetstream.JetStream
}

// Given a cluster's URL list, client i starts at node i%nodes: the clients
// spread evenly over the nodes, the same way in every run.
func newConnPool(url string, n int) (*connPool, error) {
	p := &connPool{}
	urls := strings.Split(url, ",")
	for i := range n {
		k := i % len(urls)
		rotated := strings.Join(append(slices.Clone(urls[k:]), urls[:k]...), ",")
		nc, js, err := connect(rotated, fmt.Sprintf("rosterbench-client-%d", i))
		if err != nil {
			p.close()
			return nil, err
		}
		p.ncs, p.jss = append(p.ncs, nc), append(p.jss, js)
	}
	return p, nil
}

func (p *connPool) close() {
	for _, nc := range p.ncs {
		nc.Close()
	}
}

// benchLog is the services' logger: warnings and errors on stderr only, so
// the table stays readable and the last line stays the JSON.
func benchLog() zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).
		Level(zerolog.WarnLevel).With().Timestamp().Logger()
}

// runGroups runs roster-groups in this process on its own connection until
// the returned stop is called; it returns once the endpoints answer.
func runGroups(ctx context.Context, url string, mod func(*groups.Config)) (stop func() error, err error) {
	nc, js, err := connect(url, "rosterbench-groups")
	if err != nil {
		return nil, err
	}
	cfg := groups.Config{NC: nc, JS: js, Log: benchLog().With().Str("component", "groups").Logger()}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := groups.New(ctx, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	stop = func() error {
		cancel()
		err := <-done
		nc.Close()
		return err
	}
	if err := waitService(ctx, nc, groups.ServiceName); err != nil {
		_ = stop()
		return nil, err
	}
	if strings.Contains(url, ",") { // a cluster: see pinStreamLeaders
		if err := pinStreamLeaders(ctx, nc, js); err != nil {
			_ = stop()
			return nil, err
		}
	}
	return stop, nil
}

// waitService polls the micro service's PING until it answers.
func waitService(ctx context.Context, nc *nats.Conn, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := nc.Request("$SRV.PING."+name, nil, time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("service %s did not answer: %w", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// child is this binary re-executed as one service process ("rosterbench
// serve ..."), so a probe can measure a fresh process and its own RSS. It
// prints one line when ready and exits when its stdin closes.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready string
	exit  chan error
}

func spawn(ctx context.Context, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{"serve"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, exit: make(chan error, 1)}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { c.exit <- cmd.Wait() }()
	select {
	case l, ok := <-line:
		if !ok {
			_ = c.stop()
			return nil, fmt.Errorf("serve %s exited before it was ready", strings.Join(args, " "))
		}
		c.ready = l
		return c, nil
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	_ = c.stop()
	return nil, fmt.Errorf("serve %s: not ready", strings.Join(args, " "))
}

// rssMB reads the child's resident set size.
func (c *child) rssMB() (float64, error) { return rssMB(c.cmd.Process.Pid) }

// stop closes the child's stdin (its signal to shut down cleanly) and
// waits; a child that does not exit within 30s is killed.
func (c *child) stop() error {
	_ = c.stdin.Close()
	select {
	case err := <-c.exit:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.New("child did not exit; killed")
	}
}

// rssMB reads VmRSS of pid from /proc (0 means this process).
func rssMB(pid int) (float64, error) {
	p := "/proc/self/status"
	if pid != 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) (float64, error) {
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("rss: unexpected line %q", l)
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("rss: no VmRSS line")
}

// runDispatcher runs the webhook dispatcher in this process (loopback
// allowlisted: the receivers are local) until the returned stop is called;
// it returns once roster-webhooks answers.
func runDispatcher(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, label string) (stop func(), err error) {
	return runDispatcherReplicas(ctx, nc, js, label, 1)
}

// runDispatcherReplicas is runDispatcher with the replicas of the streams
// and buckets the dispatcher provisions (3 on the cluster probe's cluster).
func runDispatcherReplicas(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, label string, replicas int) (stop func(), err error) {
	d, err := webhook.New(ctx, webhook.Config{
		NC: nc, JS: js, Log: benchLog().With().Str("component", "webhook").Logger(),
		AllowCIDRs: []string{"127.0.0.0/8"}, Metrics: prometheus.NewRegistry(), Replicas: replicas,
	})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			progress("%s: dispatcher did not stop within 30s", label)
		}
	}
	if err := waitEndpointService(ctx, nc); err != nil {
		stop()
		return nil, err
	}
	if replicas > 1 { // a cluster: see pinStreamLeaders
		if err := pinStreamLeaders(ctx, nc, js); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}
