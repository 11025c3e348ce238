package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The harness is what the replication tests stand on: an R3 stream keeps
// accepting writes after its leader's node stops, and the node rejoins.
func TestClusterSurvivesLeaderLoss(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	c.WaitStreamCurrent(t, "T", 30*time.Second)
	if _, err := c.JS.Publish(ctx, "t.a", []byte("1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	leader := c.StreamLeader(t, "T", 10*time.Second)
	c.Stop(leader)
	natstest.Eventually(t, 30*time.Second, func() error {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		_, err := c.JS.Publish(pctx, "t.a", []byte("2"))
		return err
	})
	if now := c.StreamLeader(t, "T", 10*time.Second); now == leader {
		t.Fatalf("leader is still the stopped node %d", leader)
	}
	c.Restart(t, leader)
	c.WaitStreamCurrent(t, "T", 30*time.Second)
	s, err := c.JS.Stream(ctx, "T")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if want, have := uint64(2), s.CachedInfo().State.Msgs; want != have {
		t.Fatalf("messages: want %d, have %d", want, have)
	}
}
