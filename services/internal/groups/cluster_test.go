package groups_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The operator's production failure: two roster-groups processes on a
// 3-node cluster; right after a node rejoined, the process attached to it
// rejected member.remove of users invited (and acknowledged) moments
// before with not_found, and answered repeated commands with "read commit
// at N: message not found". Decisions must rest on what the stream leader
// holds, whichever replica the process's node offers.
func TestRejoinedNodeDoesNotRejectOnStaleState(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	stream := eventstore.StreamConfig{Replicas: 3}
	newService := func(nc *nats.Conn) *groups.Service {
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		var svc *groups.Service
		// Until every node has joined (or the rejoined one has caught up
		// with the JetStream meta state) provisioning may fail.
		natstest.Eventually(t, 30*time.Second, func() error {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			svc, err = groups.New(pctx, groups.Config{NC: nc, JS: js, Log: zerolog.Nop(), Stream: stream})
			return err
		})
		return svc
	}
	exec := func(svc *groups.Service, name, body string) groups.Result {
		t.Helper()
		// A command whose request or append was lost with a stopping node
		// (timed out, or failed when the connection began to reconnect) is
		// retried by its caller with the same command_id; every body here
		// has one.
		for attempt := 1; ; attempt++ {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			res := svc.Execute(cctx, name, []byte(body), "")
			cancel()
			if res.Err != nil && events.CodeOf(res.Err) == events.CodeUnavailable && attempt < 3 {
				continue
			}
			if res.Err != nil {
				t.Fatalf("%s %s: %v", name, body, res.Err)
			}
			return res
		}
	}
	p1 := newService(c.NC)
	exec(p1, "group.create", `{"group_id":"A","actor":"o","name":"A","join_policy":"open","command_id":"create"}`)
	c.WaitStreamCurrent(t, events.StreamName, 30*time.Second)

	follower := (c.StreamLeader(t, events.StreamName, 30*time.Second) + 1) % c.Size()
	c.Stop(follower)
	for i := range 100 {
		exec(p1, "member.invite", fmt.Sprintf(`{"group_id":"A","actor":"o","user_ids":["early%d"],"command_id":"early%d"}`, i, i))
	}
	c.Restart(t, follower)
	nc, err := nats.Connect(c.NodeURL(follower), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p2 := newService(nc) // attached to the rejoined node only

	// Meanwhile other groups keep the stream busy: an append is
	// acknowledged once a majority (leader and one follower) stored it, so
	// the third replica, the rejoined node's, may trail behind.
	fnc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer fnc.Close()
	fjs, err := jetstream.New(fnc)
	if err != nil {
		t.Fatal(err)
	}
	busy := startFiller(ctx, fjs)
	defer busy()

	version := uint64(101)
	for i := range 40 {
		// p1 invites; the leader acknowledged it before p2 is asked.
		inv := exec(p1, "member.invite", fmt.Sprintf(`{"group_id":"A","actor":"o","user_ids":["u%d"],"command_id":"inv%d"}`, i, i))
		version++
		if inv.Reply.Version != version {
			t.Fatalf("invite %d: version %d, want %d", i, inv.Reply.Version, version)
		}
		// p2 removes the user at once: its state must include the invite.
		rm := exec(p2, "member.remove", fmt.Sprintf(`{"group_id":"A","actor":"o","user_ids":["u%d"],"command_id":"rm%d"}`, i, i))
		version++
		if rm.Reply.Version != version {
			t.Fatalf("remove %d: version %d, want %d", i, rm.Reply.Version, version)
		}
		// A caller retrying p1's invite through p2 gets the original reply:
		// p2 reads that commit, which its node may not hold yet.
		dup := exec(p2, "member.invite", fmt.Sprintf(`{"group_id":"A","actor":"o","user_ids":["u%d"],"command_id":"inv%d"}`, i, i))
		if !dup.Duplicate || dup.Reply.Version != inv.Reply.Version {
			t.Fatalf("retried invite %d: duplicate %v version %d, want the original version %d", i, dup.Duplicate, dup.Reply.Version, inv.Reply.Version)
		}
	}
}

// startFiller publishes to other groups' subjects until stopped.
// At most 100 messages are in flight, so the filler never floods the
// stream's inbound queue (which would drop or delay the test's appends).
func startFiller(ctx context.Context, js jetstream.JetStream) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		body := make([]byte, 256)
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := js.PublishAsync(events.Subject(fmt.Sprintf("filler-%d", i%100)), body); err != nil {
				select {
				case <-js.PublishAsyncComplete():
				case <-ctx.Done():
				}
			}
			if i%100 == 99 {
				select {
				case <-js.PublishAsyncComplete():
				case <-ctx.Done():
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
