package natstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx"
)

// Cluster is a JetStream cluster of in-process servers on loopback
// (natsx.EmbeddedCluster), stopped when the test ends, with a client
// connected to it and the test's helpers for waiting on leaders.
type Cluster struct {
	*natsx.EmbeddedCluster
	// NC and JS are a client connected to every node's URL (it reconnects
	// to a surviving node when the one it uses stops).
	NC *nats.Conn
	JS jetstream.JetStream
}

// StartCluster runs an n-node JetStream cluster (n >= 1; 3 for quorum
// tests), stopped when the test ends. It returns once JetStream has a meta
// leader, so streams with n replicas can be created at once.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	ec, err := natsx.StartEmbeddedCluster(natsx.EmbeddedClusterConfig{
		Nodes: n, Name: "roster-test", Dir: t.TempDir(), Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Shutdown)
	c := &Cluster{EmbeddedCluster: ec}
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

// Restart starts a stopped node i again on its ports and store. It does not
// wait for the node to rejoin (with a majority down, no meta leader exists
// until another node returns): call WaitMetaLeader or WaitStreamCurrent.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	if err := c.EmbeddedCluster.Restart(i); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// WaitMetaLeader polls until a running node is the JetStream meta leader
// and sees every running node as a peer with current stats, so streams of
// as many replicas as nodes can be placed.
func (c *Cluster) WaitMetaLeader(t testing.TB, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, c.CheckMetaLeader)
}

// StreamLeader returns the index of the node that leads stream (account
// $G), polling until one does.
func (c *Cluster) StreamLeader(t testing.TB, stream string, timeout time.Duration) int {
	t.Helper()
	leader := -1
	Eventually(t, timeout, func() error {
		i, err := c.LeaderOf(stream)
		leader = i
		return err
	})
	return leader
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
