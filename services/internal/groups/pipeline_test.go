package groups_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// acked is one acknowledged command: its group, id and the version the
// reply named.
type acked struct {
	group, commandID string
	version          uint64
}

// joinAll sends a member.join per (group, user) concurrently, each with
// command id "<group>-<user>", spread over conns, the ones in dup sent
// twice at once (a client retrying before its first answer). It returns
// every acknowledgement and fails the test on any error reply.
func joinAll(t *testing.T, conns []*nats.Conn, joins map[string][]string, dup func(g string, u int) bool) []acked {
	t.Helper()
	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
		n    int
	)
	for g, us := range joins {
		for u, user := range us {
			copies := 1
			if dup(g, u) {
				copies = 2
			}
			for c := range copies {
				nc := conns[(n+c)%len(conns)]
				n++
				wg.Add(1)
				go func() {
					defer wg.Done()
					body, _ := json.Marshal(map[string]any{"group_id": g, "actor": user, "command_id": g + "-" + user})
					msg, err := nc.Request("roster.cmd.member.join", body, 20*time.Second)
					if err != nil {
						t.Errorf("join %s to %s: %v", user, g, err)
						return
					}
					var r reply
					if err := json.Unmarshal(msg.Data, &r); err != nil || r.Error != nil {
						t.Errorf("join %s to %s: %s", user, g, msg.Data)
						return
					}
					mu.Lock()
					acks = append(acks, acked{group: r.GroupID, commandID: r.CommandID, version: r.Version})
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	return acks
}

// checkAcked checks the stream against the acknowledgements: every
// acknowledged command is stored exactly once, at the version its reply
// named (a retry is told the original's); each group's commits are in
// stream order with contiguous versions from 1 (the fold refuses a gap or
// a repeat), and hold nothing but the creation and the acknowledged joins.
func checkAcked(t *testing.T, srv *natstest.Server, joins map[string][]string, acks []acked) {
	t.Helper()
	want := map[string]uint64{} // command id -> version acknowledged
	for _, a := range acks {
		if v, ok := want[a.commandID]; ok && v != a.version {
			t.Fatalf("command %s acknowledged at versions %d and %d", a.commandID, v, a.version)
		}
		want[a.commandID] = a.version
	}
	stored := 0
	for g, us := range joins {
		commits := streamCommits(t, srv, g)
		var evs []events.Event
		for i, c := range commits {
			if i > 0 && c.Seq <= commits[i-1].Seq {
				t.Fatalf("%s: commits out of stream order", g)
			}
			evs = append(evs, c.Commit.Events...)
			if i == 0 {
				continue // the creation
			}
			v, ok := want[c.Commit.CommandID]
			if !ok {
				t.Fatalf("%s: commit of %s was never acknowledged", g, c.Commit.CommandID)
			}
			if c.Commit.LastVersion() != v {
				t.Fatalf("%s: %s stored at version %d, acknowledged at %d", g, c.Commit.CommandID, c.Commit.LastVersion(), v)
			}
			stored++
		}
		st, err := group.Fold(g, evs)
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		if len(st.Members) != len(us)+1 || len(commits) != len(us)+1 {
			t.Fatalf("%s: want %d members in %d commits, have %d in %d", g, len(us)+1, len(us)+1, len(st.Members), len(commits))
		}
	}
	if stored != len(want) {
		t.Fatalf("want each of the %d acknowledged commands stored once, have %d commits", len(want), stored)
	}
}

// createGroups creates every group of joins, open to joins.
func createGroups(t *testing.T, nc *nats.Conn, joins map[string][]string) {
	t.Helper()
	for g := range joins {
		mustOK(t, send(t, nc, "roster.cmd.group.create", map[string]any{"group_id": g, "actor": "o", "name": g, "join_policy": "open"}))
	}
}

// Many commands at once, over many groups and on one hot group, through
// two processes with few request slots each (so requests queue for a slot
// and for their group): each acknowledged command is stored once and in
// order, retries sent alongside the original are answered with its outcome.
func TestPipelinedCommandsManyGroupsTwoProcesses(t *testing.T) {
	srv := natstest.Start(t)
	small := func(c *groups.Config) { c.MaxInFlight = 8 }
	startService(t, srv, small)
	startService(t, srv, small)
	joins := map[string][]string{}
	for g := range 40 {
		for u := range 6 {
			joins[fmt.Sprintf("P%02d", g)] = append(joins[fmt.Sprintf("P%02d", g)], fmt.Sprintf("u%d", u))
		}
	}
	for u := range 80 {
		joins["HOT"] = append(joins["HOT"], fmt.Sprintf("h%02d", u))
	}
	createGroups(t, srv.NC, joins)
	conns := []*nats.Conn{srv.NC, srv.Connect(t), srv.Connect(t)}
	acks := joinAll(t, conns, joins, func(g string, u int) bool { return u%5 == 0 })
	if t.Failed() {
		return
	}
	checkAcked(t, srv, joins, acks)
}

// A process stopped under load answers the requests it took before it
// ends (the other process takes the rest): nothing acknowledged is lost,
// nothing is stored twice, and no request goes unanswered.
func TestStopUnderLoadLosesNothingAcknowledged(t *testing.T) {
	srv := natstest.Start(t)
	stopFirst := startService(t, srv, nil)
	startService(t, srv, nil)
	joins := map[string][]string{}
	for g := range 20 {
		for u := range 10 {
			joins[fmt.Sprintf("S%02d", g)] = append(joins[fmt.Sprintf("S%02d", g)], fmt.Sprintf("u%d", u))
		}
	}
	createGroups(t, srv.NC, joins)
	conns := []*nats.Conn{srv.NC, srv.Connect(t)}
	var acks []acked
	done := make(chan struct{})
	go func() {
		defer close(done)
		acks = joinAll(t, conns, joins, func(string, int) bool { return false })
	}()
	// Stop the first process once some joins are stored, while the rest
	// are in flight.
	natstest.Eventually(t, 20*time.Second, func() error {
		if n := len(streamCommits(t, srv, "S00")) + len(streamCommits(t, srv, "S01")); n < 6 {
			return fmt.Errorf("%d commits so far", n)
		}
		return nil
	})
	stopFirst()
	<-done
	if t.Failed() {
		return
	}
	checkAcked(t, srv, joins, acks)
}
