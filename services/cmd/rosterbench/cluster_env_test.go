package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The cluster probe's numbers mean "R3" only if its environment really is
// three JetStream nodes that place a stream on all of them, and its
// clients really spread over the nodes.
func TestStartClusterPlacesStreamsOnEveryNode(t *testing.T) {
	env, err := startEnv(3, false)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	if env.replicas() != 3 {
		t.Fatalf("want 3 replicas, have %d", env.replicas())
	}
	pool, err := newConnPool(env.url(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.close()
	seen := map[string]bool{}
	for _, nc := range pool.ncs {
		seen[nc.ConnectedServerName()] = true
	}
	if len(seen) != 3 {
		t.Errorf("want three clients on three nodes, have %v", seen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pool.jss[0].CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: env.replicas()})
	if err != nil {
		t.Fatal(err)
	}
	// A stream just created may not have elected its leader yet: the
	// server answers "no responders" until it has.
	natstest.Eventually(t, 30*time.Second, func() error {
		_, err := pool.jss[1].Publish(ctx, "t.a", []byte("x"), jetstream.WithExpectLastSequencePerSubject(0))
		return err
	})
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Errorf("want a leader and two replicas, have %+v", info.Cluster)
	}
	if info.State.Msgs != 1 {
		t.Errorf("want 1 message, have %d", info.State.Msgs)
	}
}

func TestStartEnvOneNodeIsAPlainServer(t *testing.T) {
	env, err := startEnv(1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	if env.replicas() != 1 || len(env.nodes) != 0 {
		t.Errorf("want one server and R1, have %d nodes, R%d", len(env.nodes), env.replicas())
	}
}

func TestLeaderOf(t *testing.T) {
	defer func(saved string) { lastLeaders = saved }(lastLeaders)
	lastLeaders = "BENCH_BASELINE=n2 ROSTER_EVENTS=n3"
	for stream, want := range map[string]string{"ROSTER_EVENTS": "n3", "BENCH_BASELINE": "n2", "ROSTER_AUDIT": "?"} {
		if have := leaderOf(stream); have != want {
			t.Errorf("%s: want %s, have %s", stream, want, have)
		}
	}
}

// The cluster probe's services must sit on their streams' leader in every
// run: pinStreamLeaders moves each leader to the caller's node.
func TestPinStreamLeadersMovesEveryLeaderToTheCallersNode(t *testing.T) {
	env, err := startEnv(3, false)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	pool, err := newConnPool(env.url(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, name := range []string{"A", "B", "C"} {
		if _, err := pool.jss[0].CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Replicas: 3}); err != nil {
			t.Fatal(err)
		}
	}
	// Each node is the target once, so at least one stream has to move.
	for c := range pool.ncs {
		node := pool.ncs[c].ConnectedServerName()
		if err := pinStreamLeaders(ctx, pool.ncs[c], pool.jss[c]); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"A", "B", "C"} {
			s, err := pool.jss[c].Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if have := s.CachedInfo().Cluster.Leader; have != node {
				t.Errorf("%s: want leader %s, have %s", name, node, have)
			}
		}
	}
}
