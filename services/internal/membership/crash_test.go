package membership

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// A projector killed between writing the model and acknowledging (or
// between the member keys and the info key) loses nothing and counts
// nothing twice: the commits come back, the guard and the fold converge.
func TestProjectorKilledMidStream(t *testing.T) {
	for _, stage := range []string{"members-written", "info-written"} {
		t.Run(stage, func(t *testing.T) {
			f := newFixture(t)
			for g := range 5 {
				f.do(fmt.Sprintf("k%d", g), "o", group.Create{Name: "k", JoinPolicy: events.PolicyOpen})
			}
			var batches atomic.Int32
			nc, js := f.srv.ConnectJS(t)
			crashing, run := f.projector(Config{JS: js, BatchSize: 7, AckWait: 500 * time.Millisecond, crashAt: func(s string) error {
				if s == stage && batches.Add(1) == 3 {
					nc.Close() // the process dies: its connection goes with it
					return errors.New("kill")
				}
				return nil
			}})
			for i := range 60 {
				g := fmt.Sprintf("k%d", i%5)
				f.do(g, "o", group.Invite{UserIDs: []string{fmt.Sprintf("u%d", i)}})
				if i%3 == 0 {
					f.do(g, "o", group.Remove{UserIDs: []string{fmt.Sprintf("u%d", i)}})
				}
			}
			if err := run.wait(t, 20*time.Second); err == nil || batches.Load() < 3 {
				t.Fatalf("the projector did not crash (err %v, batches %d)", err, batches.Load())
			}
			if s := crashing.Stats(); s.AppliedSeq == 0 {
				t.Fatalf("crashed before applying anything: %+v", s)
			}
			// A new process takes over the durable consumer.
			p, _ := f.projector(Config{BatchSize: 7, AckWait: 500 * time.Millisecond})
			f.caughtUp(1, 20*time.Second)
			if p.Stats().Commits == 0 {
				t.Fatal("the new projector applied nothing")
			}
			for g := range 5 {
				var info GroupInfo
				info, _, err := openModel(t, f.js, 1).GroupInfo(context.Background(), fmt.Sprintf("k%d", g))
				if err != nil {
					t.Fatal(err)
				}
				if want := len(f.states[info.GroupID].Members); info.MemberCount != want {
					t.Fatalf("%s: member count %d, want %d", info.GroupID, info.MemberCount, want)
				}
			}
		})
	}
}

// Concurrent commands on many groups while the projector is restarted
// again and again end with a model equal to a fresh replay of the stream.
func TestConcurrentCommandsWhileProjectorRestarts(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const groups, writers = 12, 6
	for g := range groups {
		f.do(fmt.Sprintf("c%02d", g), "o", group.Create{Name: "c", JoinPolicy: events.PolicyOpen})
	}
	var wg sync.WaitGroup
	var done atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, js := f.srv.ConnectJS(t)
			for i := 0; ctx.Err() == nil && i < 150; i++ {
				g := fmt.Sprintf("c%02d", (w+i)%groups)
				u := fmt.Sprintf("w%d-%d", w, i%40)
				var cmd group.Command = group.Invite{UserIDs: []string{u}}
				f.mu.Lock()
				if f.states[g].Members[u] != nil {
					cmd = group.Remove{UserIDs: []string{u}}
				}
				f.mu.Unlock()
				if _, err := f.tryDo(ctx, js, g, "o", cmd); err != nil {
					t.Errorf("%s %s: %v", cmd.Kind(), g, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()
	restarts := 0
	for stop := false; !stop; restarts++ {
		// A tiny cache: groups are evicted and reloaded from the model all the time.
		_, run := f.projector(Config{BatchSize: 16, AckWait: 500 * time.Millisecond, MaxCachedMembers: 300})
		select {
		case <-writing:
			stop = true
		case <-time.After(150 * time.Millisecond):
		}
		if !stop {
			_ = run.stop(t)
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("%d commands, %d projector restarts", done.Load(), restarts)
	// The last projector runs with a 500 ms AckWait and batches of 16, so on
	// a loaded machine under the race detector it redelivers a lot before
	// it settles: allow it time (polled, so a quiet run is not slower).
	f.caughtUp(1, 90*time.Second)
	// Every commit is acknowledged in the end: nothing is stuck pending.
	natstest.Eventually(t, 10*time.Second, func() error {
		c, err := f.stream.Consumer(context.Background(), DurableName(1))
		if err != nil {
			return err
		}
		ci, err := c.Info(context.Background())
		if err != nil {
			return err
		}
		if ci.NumAckPending != 0 || ci.NumPending != 0 {
			return fmt.Errorf("consumer: %d pending, %d unacknowledged", ci.NumPending, ci.NumAckPending)
		}
		return nil
	})

	// A fresh replay of the same stream gives the same model.
	res, err := Rebuild(context.Background(), RebuildConfig{JS: f.js, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := diff(dump(t, f.js, 1), dump(t, f.js, res.To.Number)); err != nil {
		t.Fatalf("live model differs from a fresh replay: %v", err)
	}
}

// A deleted consumer does not stall the projector: it recreates it, and
// the guard turns the replay from the first commit into no-ops.
func TestProjectorSurvivesDeletedConsumer(t *testing.T) {
	f := newFixture(t)
	p, _ := f.projector(Config{RetryDelay: 50 * time.Millisecond})
	f.do("D", "o", group.Create{Name: "D"})
	f.do("D", "o", group.Invite{UserIDs: []string{"a", "b"}})
	f.caughtUp(1, 10*time.Second)
	if err := f.stream.DeleteConsumer(context.Background(), DurableName(1)); err != nil {
		t.Fatal(err)
	}
	f.do("D", "o", group.Remove{UserIDs: []string{"a"}})
	f.caughtUp(1, 20*time.Second)
	if s := p.Stats(); s.Redelivered == 0 {
		t.Fatalf("the recreated consumer should have replayed applied commits as no-ops: %+v", s)
	}
}
