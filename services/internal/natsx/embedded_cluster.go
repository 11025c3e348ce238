package natsx

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedClusterConfig configures a JetStream cluster of in-process servers
// on loopback, joined by routes: what the replication tests and the cluster
// benchmark run on (natstest.StartCluster wraps it for tests).
type EmbeddedClusterConfig struct {
	// Nodes is the cluster's size (>= 1; 3 for quorum).
	Nodes int
	// Name is the cluster's name (routes only join a cluster of the same
	// name). Default "roster-embedded".
	Name string
	// Dir holds every node's store (a directory per start attempt and
	// node). Required: a cluster's nodes keep their stores across restarts.
	Dir string
	// SyncAlways sets sync_interval: always on every node (ADR 0003).
	SyncAlways bool
	// StartTimeout bounds how long each node may take to accept
	// connections. Default 20 s.
	StartTimeout time.Duration
	// Attempts is how many times a start is tried whole, on fresh ports and
	// fresh stores, when a node does not become ready. Default 3.
	Attempts int
	// Logf, if set, is told of each failed attempt that is retried.
	Logf func(format string, args ...any)
}

func (c *EmbeddedClusterConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "roster-embedded"
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 20 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 3
	}
}

// Validate reports every problem with c.
func (c EmbeddedClusterConfig) Validate() error {
	var errs []error
	if c.Nodes < 1 {
		errs = append(errs, fmt.Errorf("cluster of %d nodes", c.Nodes))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("store directory is required"))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, errors.New("start timeout must not be negative"))
	}
	if c.Attempts < 0 {
		errs = append(errs, errors.New("attempts must not be negative"))
	}
	return errors.Join(errs...)
}

// EmbeddedCluster is a running loopback JetStream cluster. Each node keeps
// its ports and store directory across Stop and Restart, as a real server
// restarted by its supervisor would.
type EmbeddedCluster struct {
	cfg   EmbeddedClusterConfig
	mu    sync.Mutex
	nodes []*embeddedNode
}

type embeddedNode struct {
	name        string
	port        int
	clusterPort int
	dir         string
	ns          *server.Server // nil while stopped
}

// StartEmbeddedCluster starts every node and returns once each accepts
// connections (a meta leader may not be elected yet: CheckMetaLeader says).
//
// Ports are picked free and released before the nodes bind them (each node
// must list its peers' route ports before any starts), so another process
// may take one first and its node never becomes ready. Such a start is
// retried whole on fresh ports and fresh stores, up to cfg.Attempts times.
func StartEmbeddedCluster(cfg EmbeddedClusterConfig) (*EmbeddedCluster, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("embedded cluster config: %w", err)
	}
	c := &EmbeddedCluster{cfg: cfg}
	for attempt := 1; ; attempt++ {
		err := c.startAttempt(attempt)
		if err == nil {
			return c, nil
		}
		c.Shutdown()
		if attempt >= cfg.Attempts {
			return nil, fmt.Errorf("start cluster (%d attempts): %w", attempt, err)
		}
		if cfg.Logf != nil {
			cfg.Logf("start cluster (attempt %d): %v; again on fresh ports", attempt, err)
		}
	}
}

func (c *EmbeddedCluster) startAttempt(attempt int) error {
	nodes := make([]*embeddedNode, c.cfg.Nodes)
	for i := range nodes {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		clusterPort, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		nodes[i] = &embeddedNode{
			name:        fmt.Sprintf("n%d", i+1),
			port:        port,
			clusterPort: clusterPort,
			dir:         filepath.Join(c.cfg.Dir, fmt.Sprintf("a%d", attempt), fmt.Sprintf("n%d", i+1)),
		}
	}
	c.mu.Lock()
	c.nodes = nodes
	c.mu.Unlock()
	// Every node at once: a node's routes need their peers.
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.start(i) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *EmbeddedCluster) options(i int) *server.Options {
	nd := c.nodes[i]
	var routes []string
	for j, o := range c.nodes {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.clusterPort))
		}
	}
	return &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       nd.port,
		JetStream:  true,
		StoreDir:   nd.dir,
		SyncAlways: c.cfg.SyncAlways,
		NoSigs:     true,
		NoLog:      true,
		Cluster: server.ClusterOpts{
			Name: c.cfg.Name,
			Host: "127.0.0.1",
			Port: nd.clusterPort,
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
	}
}

func (c *EmbeddedCluster) start(i int) error {
	c.mu.Lock()
	opts := c.options(i)
	c.mu.Unlock()
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("node %s: %w", opts.ServerName, err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(c.cfg.StartTimeout) {
		ns.Shutdown()
		return fmt.Errorf("node %s: not ready after %s", opts.ServerName, c.cfg.StartTimeout)
	}
	c.mu.Lock()
	c.nodes[i].ns = ns
	c.mu.Unlock()
	return nil
}

// Shutdown stops every running node and waits for each to finish.
func (c *EmbeddedCluster) Shutdown() {
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
func (c *EmbeddedCluster) Size() int { return len(c.nodes) }

// URLs is every node's client URL, comma-separated (what nats.Connect and
// --nats-url take).
func (c *EmbeddedCluster) URLs() string {
	urls := make([]string, len(c.nodes))
	for i := range c.nodes {
		urls[i] = c.NodeURL(i)
	}
	return strings.Join(urls, ",")
}

// NodeURL is node i's client URL alone: a client given only it stays on
// that node (and is served by that node's replicas).
func (c *EmbeddedCluster) NodeURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].port)
}

// NodeName is node i's server name.
func (c *EmbeddedCluster) NodeName(i int) string { return c.nodes[i].name }

// Server is node i's running server, or nil while it is stopped.
func (c *EmbeddedCluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].ns
}

// Stop shuts node i down; its ports and store stay for Restart.
func (c *EmbeddedCluster) Stop(i int) {
	c.mu.Lock()
	ns := c.nodes[i].ns
	c.nodes[i].ns = nil
	c.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// ErrNodeRunning is returned by Restart for a node that was not stopped.
var ErrNodeRunning = errors.New("node is running")

// Restart starts a stopped node i again on its ports and store. It does not
// wait for the node to rejoin (with a majority down, no meta leader exists
// until another node returns): poll CheckMetaLeader.
func (c *EmbeddedCluster) Restart(i int) error {
	if c.Server(i) != nil {
		return fmt.Errorf("restart %s: %w", c.nodes[i].name, ErrNodeRunning)
	}
	return c.start(i)
}

// CheckMetaLeader returns nil once a running node is the JetStream meta
// leader and sees every running node as a peer, so streams of as many
// replicas as nodes can be placed; otherwise what is missing.
func (c *EmbeddedCluster) CheckMetaLeader() error {
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
}

// LeaderOf returns the index of the running node that leads stream in the
// global account, or an error when none does (yet).
func (c *EmbeddedCluster) LeaderOf(stream string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, nd := range c.nodes {
		if nd.ns != nil && nd.ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("stream %s has no leader", stream)
}
