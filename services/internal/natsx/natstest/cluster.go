package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is a JetStream cluster of in-process servers on loopback, joined
// by routes. Each node keeps its ports and store directory across Stop and
// Restart, as a real server restarted by its supervisor would.
type Cluster struct {
	t     testing.TB
	name  string
	mu    sync.Mutex
	nodes []*clusterNode
	// NC and JS are a client connected to every node's URL (it reconnects
	// to a surviving node when the one it uses stops).
	NC *nats.Conn
	JS jetstream.JetStream
}

type clusterNode struct {
	name        string
	port        int
	clusterPort int
	dir         string
	ns          *server.Server // nil while stopped
}

// StartCluster runs an n-node JetStream cluster (n >= 1; 3 for quorum
// tests), stopped when the test ends. It returns once JetStream has a meta
// leader, so streams with n replicas can be created at once.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("cluster of %d nodes", n)
	}
	c := &Cluster{t: t, name: "roster-test"}
	base := t.TempDir()
	t.Cleanup(c.shutdown)
	// Ports are picked free and then released, so another test's server
	// may bind one before this node does, and the node never becomes
	// ready. Such a start is retried whole on fresh ports and fresh stores.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		c.nodes = c.nodes[:0]
		for i := range n {
			c.nodes = append(c.nodes, &clusterNode{
				name:        fmt.Sprintf("n%d", i+1),
				port:        freePort(t),
				clusterPort: freePort(t),
				dir:         filepath.Join(base, fmt.Sprintf("a%d", attempt), fmt.Sprintf("n%d", i+1)),
			})
		}
		err := c.startAll()
		if err == nil {
			break
		}
		c.shutdown()
		if attempt == attempts {
			t.Fatalf("start cluster (%d attempts): %v", attempts, err)
		}
		t.Logf("start cluster (attempt %d): %v; again on fresh ports", attempt, err)
	}
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatalf("connect cluster: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	c.NC, c.JS = nc, js
	c.WaitMetaLeader(t, 30*time.Second)
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) options(i int) *server.Options {
	nd := c.nodes[i]
	var routes []string
	for j, o := range c.nodes {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.clusterPort))
		}
	}
	opts := &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       nd.port,
		JetStream:  true,
		StoreDir:   nd.dir,
		NoSigs:     true,
		NoLog:      true,
		Cluster: server.ClusterOpts{
			Name: c.name,
			Host: "127.0.0.1",
			Port: nd.clusterPort,
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
	}
	return opts
}

// startAll starts every node at once (routes need their peers) and
// returns what kept any from becoming ready.
func (c *Cluster) startAll() error {
	var wg sync.WaitGroup
	errs := make([]error, len(c.nodes))
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.start(i) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) start(i int) error {
	ns, err := server.NewServer(c.options(i))
	if err != nil {
		return fmt.Errorf("node %s: %w", c.nodes[i].name, err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		ns.Shutdown()
		return fmt.Errorf("node %s: not ready", c.nodes[i].name)
	}
	c.mu.Lock()
	c.nodes[i].ns = ns
	c.mu.Unlock()
	return nil
}

func (c *Cluster) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if nd.ns != nil {
			nd.ns.Shutdown()
			nd.ns.WaitForShutdown()
			nd.ns = nil
		}
	}
}

// Size is the number of nodes.
func (c *Cluster) Size() int { return len(c.nodes) }

// URLs is every node's client URL, comma-separated (what --nats-url takes).
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", nd.port)
	}
	return strings.Join(urls, ",")
}

// NodeURL is node i's client URL alone: a client given only it stays on
// that node (and is served by that node's replicas).
func (c *Cluster) NodeURL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].port) }

// NodeName is node i's server name.
func (c *Cluster) NodeName(i int) string { return c.nodes[i].name }

// Server is node i's running server, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].ns
}

// Stop shuts node i down (its store stays for Restart).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	ns := c.nodes[i].ns
	c.nodes[i].ns = nil
	c.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Restart starts a stopped node i again on its ports and store. It does not
// wait for the node to rejoin (with a majority down, no meta leader exists
// until another node returns): call WaitMetaLeader or WaitStreamCurrent.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	if c.Server(i) != nil {
		t.Fatalf("node %s is running", c.nodes[i].name)
	}
	if err := c.start(i); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// WaitMetaLeader polls until a running node is the JetStream meta leader
// and sees every running node as a peer with current stats, so streams of
// as many replicas as nodes can be placed.
func (c *Cluster) WaitMetaLeader(t testing.TB, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		running := 0
		for _, nd := range c.nodes {
			if nd.ns != nil {
				running++
			}
		}
		for _, nd := range c.nodes {
			if nd.ns != nil && nd.ns.JetStreamIsLeader() {
				if peers := nd.ns.JetStreamClusterPeers(); len(peers) < running {
					return fmt.Errorf("meta leader %s sees %d of %d peers", nd.name, len(peers), running)
				}
				return nil
			}
		}
		return errors.New("no JetStream meta leader yet")
	})
}

// StreamLeader returns the index of the node that leads stream (account
// $G), polling until one does.
func (c *Cluster) StreamLeader(t testing.TB, stream string, timeout time.Duration) int {
	t.Helper()
	leader := -1
	Eventually(t, timeout, func() error {
		i, err := c.streamLeader(stream)
		leader = i
		return err
	})
	return leader
}

func (c *Cluster) streamLeader(stream string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, nd := range c.nodes {
		if nd.ns != nil && nd.ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("stream %s has no leader", stream)
}

// WaitStreamCurrent polls until stream has a leader and every replica is
// current (caught up), e.g. after a node restarted.
func (c *Cluster) WaitStreamCurrent(t testing.TB, stream string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s, err := c.JS.Stream(ctx, stream)
		if err != nil {
			return err
		}
		info := s.CachedInfo()
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return fmt.Errorf("stream %s has no leader", stream)
		}
		if len(info.Cluster.Replicas)+1 < info.Config.Replicas {
			return fmt.Errorf("stream %s lists %d replicas besides its leader", stream, len(info.Cluster.Replicas))
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current || r.Offline {
				return fmt.Errorf("replica %s of %s is not current", r.Name, stream)
			}
		}
		return nil
	})
}
