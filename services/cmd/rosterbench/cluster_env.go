package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx"
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
// routes (natsx.EmbeddedCluster, what the replication tests run on), each
// with its own file store under one temporary directory (removed by close).
// syncAlways sets sync_interval: always on every node. It returns once
// JetStream has a meta leader that sees every node, so R<n> streams can be
// created at once.
func startCluster(n int, syncAlways bool) (*natsEnv, error) {
	dir, err := os.MkdirTemp("", "rosterbench-cluster-")
	if err != nil {
		return nil, err
	}
	c, err := natsx.StartEmbeddedCluster(natsx.EmbeddedClusterConfig{
		Nodes: n, Name: "rosterbench", Dir: dir, SyncAlways: syncAlways,
		Logf: func(format string, args ...any) { progress("cluster: "+format, args...) },
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	e := &natsEnv{dir: dir, nodes: make([]*server.Server, n)}
	for i := range n {
		e.nodes[i] = c.Server(i)
	}
	e.ns = e.nodes[0]
	if err := waitMetaLeader(c, 30*time.Second); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func waitMetaLeader(c *natsx.EmbeddedCluster, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.CheckMetaLeader()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: after %s: %w", timeout, err)
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
