package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/groups"
)

// startEnv starts what a probe runs on: one embedded server (nodes <= 1),
// or a loopback JetStream cluster of that many nodes whose streams the
// probe creates with as many replicas (env.replicas).
func startEnv(nodes int, syncAlways bool) (*natsEnv, error) {
	if nodes <= 1 {
		return startNATS(syncAlways)
	}
	return startCluster(nodes, syncAlways)
}

// replicas is the replica count for the streams and buckets a probe
// creates on e: one per node.
func (e *natsEnv) replicas() int { return max(1, len(e.nodes)) }

// replicated configures roster-groups as rosterd does with --replicas: its
// streams (ROSTER_EVENTS, ROSTER_SNAPSHOTS) get one replica per node.
func (e *natsEnv) replicated(c *groups.Config) { c.Stream.Replicas = e.replicas() }

// startCluster runs n in-process JetStream servers on loopback, joined by
// routes, each with its own file store under one temporary directory
// (removed by close), as natstest.StartCluster does for tests; this copy
// exists because natstest needs a testing.TB. syncAlways sets
// sync_interval: always on every node. It returns once JetStream has a meta
// leader that sees every node, so R<n> streams can be created at once.
func startCluster(n int, syncAlways bool) (*natsEnv, error) {
	dir, err := os.MkdirTemp("", "rosterbench-cluster-")
	if err != nil {
		return nil, err
	}
	ports := make([]int, n)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	e := &natsEnv{dir: dir, nodes: make([]*server.Server, n)}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			SyncAlways: syncAlways,
			NoSigs:     true,
			NoLog:      true,
			Cluster:    server.ClusterOpts{Name: "rosterbench", Host: "127.0.0.1", Port: ports[i]},
			Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := server.NewServer(opts)
			if err != nil {
				errs[i] = fmt.Errorf("node %s: %w", opts.ServerName, err)
				return
			}
			go ns.Start()
			if !ns.ReadyForConnections(20 * time.Second) {
				ns.Shutdown()
				errs[i] = fmt.Errorf("node %s: not ready", opts.ServerName)
				return
			}
			e.nodes[i] = ns
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, ns := range e.nodes {
			if ns != nil {
				ns.Shutdown()
			}
		}
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	e.ns = e.nodes[0]
	if err := e.waitMetaLeader(30 * time.Second); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// freePort asks the kernel for a free loopback port. The route ports must
// be known before any node starts (each node lists the others' routes);
// the port could be taken between this and the node's bind, which on a
// benchmark machine is rare enough to fail the probe rather than retry.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *natsEnv) waitMetaLeader(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		for _, ns := range e.nodes {
			if ns.JetStreamIsLeader() && len(ns.JetStreamClusterPeers()) >= len(e.nodes) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: no JetStream meta leader seeing all %d nodes after %s", len(e.nodes), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLeaders says on stderr which node led each stream at the end of a
// probe: the services' streams are pinned to their node (pinStreamLeaders)
// unless a leader moved during the run, the baseline streams stay where
// the meta leader placed them, and the table notes show both. The services
// connect to n1 (connect), the clients spread over every node
// (newConnPool).
func (e *natsEnv) logLeaders() {
	lastLeaders = ""
	nc, err := nats.Connect(e.url(), nats.Name("rosterbench-leaders"))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var leaders []string
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		if info.Cluster != nil {
			leaders = append(leaders, info.Config.Name+"="+info.Cluster.Leader)
		}
	}
	slices.Sort(leaders)
	lastLeaders = strings.Join(leaders, " ")
	progress("cluster: stream leaders %s (services on n1, clients spread over n1..n%d)", lastLeaders, len(e.nodes))
}

// lastLeaders is what the last cluster environment's logLeaders found
// ("STREAM=node ..."), for the cluster probe's table note: runCmdProbe and
// runDispatchProbe own and close their environment, and the probes run one
// after another on one goroutine, so the probe reads it right after.
var lastLeaders string

// leaderOf picks stream's leader out of lastLeaders ("?" when unknown).
func leaderOf(stream string) string {
	for _, f := range strings.Fields(lastLeaders) {
		if name, node, ok := strings.Cut(f, "="); ok && name == stream {
			return node
		}
	}
	return "?"
}

// pinStreamLeaders moves the leader of every stream to the node nc is
// connected to, and returns once each of them is led from there. The services call it right after provisioning, before
// any load, on a cluster only: the meta leader places leaders at random,
// and whether a service sits on its stream's leader changes its append by
// a route hop each way, so an unpinned probe would measure a different
// path in every run. With the service's streams led from the service's
// node and the clients spread evenly over the nodes, two of three
// commands cross a route once (client to service), as two of three
// baseline appends do (client to leader), which is also what a rosterd
// per node averages (a client's local roster-groups appends to the leader
// from its node). Consumers keep their own leaders: moving one would
// interrupt pulls the services already have open.
func pinStreamLeaders(ctx context.Context, nc *nats.Conn, js jetstream.JetStream) error {
	node := nc.ConnectedServerName()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var names []string
	l := js.StreamNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		return fmt.Errorf("pin stream leaders: %w", err)
	}
	for _, name := range names {
		if err := pinStreamLeader(ctx, nc, js, name, node); err != nil {
			return err
		}
	}
	return nil
}

func pinStreamLeader(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, name, node string) error {
	var asked time.Time
	var refused error // the last refusal, retried: a replica just created may not be current yet
	for {
		// Short requests, retried: while a stream elects its leader, an
		// info request may go unanswered.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(rctx, name)
		cancel()
		if err != nil {
			select {
			case <-ctx.Done():
				return fmt.Errorf("pin %s: %w", name, errors.Join(err, refused))
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		c := s.CachedInfo().Cluster
		if c == nil {
			return nil // not replicated: nothing to place
		}
		if c.Leader == node {
			return nil
		}
		// A step-down takes an election; ask again only if one that
		// was asked for did not happen within a few seconds.
		if c.Leader != "" && time.Since(asked) > 3*time.Second {
			req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, node)
			m, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+name, []byte(req), 2*time.Second)
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) {
				asked = time.Now() // no leader to answer right now: look again
				continue
			}
			if err != nil {
				return fmt.Errorf("pin %s to %s: %w", name, node, err)
			}
			var resp struct {
				Error *struct {
					Description string `json:"description"`
				} `json:"error"`
			}
			if err := json.Unmarshal(m.Data, &resp); err != nil {
				return fmt.Errorf("pin %s to %s: %w", name, node, err)
			}
			refused = nil
			if resp.Error != nil {
				refused = errors.New(resp.Error.Description)
			}
			asked = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pin %s to %s: leader %s: %w", name, node, c.Leader, errors.Join(ctx.Err(), refused))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
