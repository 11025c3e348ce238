package natsx_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func TestEmbeddedClusterConfigNamesEveryProblem(t *testing.T) {
	_, err := natsx.StartEmbeddedCluster(natsx.EmbeddedClusterConfig{Nodes: 0, Attempts: -1, StartTimeout: -time.Second})
	if err == nil {
		t.Fatal("a cluster of no nodes, without a store, started")
	}
	for _, want := range []string{"cluster of 0 nodes", "store directory is required", "start timeout", "attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// A node keeps its ports across Stop and Restart (clients given its URL
// find it again), a running node is not started twice, and the meta leader
// is found again once the node is back.
func TestEmbeddedClusterRestartsANodeOnItsPorts(t *testing.T) {
	c, err := natsx.StartEmbeddedCluster(natsx.EmbeddedClusterConfig{Nodes: 3, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	natstest.Eventually(t, 30*time.Second, c.CheckMetaLeader)
	if err := c.Restart(1); !errors.Is(err, natsx.ErrNodeRunning) {
		t.Fatalf("restart of a running node: want ErrNodeRunning, have %v", err)
	}
	url := c.NodeURL(1)
	c.Stop(1)
	if c.Server(1) != nil {
		t.Fatal("a stopped node still has a server")
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	if have := c.Server(1).ClientURL(); have != url {
		t.Errorf("restarted node listens on %s, want %s", have, url)
	}
	natstest.Eventually(t, 30*time.Second, c.CheckMetaLeader)
	if c.Size() != 3 || c.NodeName(2) != "n3" || strings.Count(c.URLs(), ",") != 2 {
		t.Errorf("size %d, third node %q, URLs %q", c.Size(), c.NodeName(2), c.URLs())
	}
}
