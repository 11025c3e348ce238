package membership

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// A projector killed with commits delivered but not acknowledged holds
// back the applied sequence (the consumer's ack floor) until those commits
// are redelivered: after the consumer's AckWait. With the default AckWait a
// restarted projector is caught up in seconds (it took ~30 s before ADR
// 0107, the fault suite allows a minute).
func TestRestartedProjectorCatchesUpWithinTheDefaultAckWait(t *testing.T) {
	f := newFixture(t)
	for g := range 4 {
		f.do(fmt.Sprintf("r%d", g), "o", group.Create{Name: "r", JoinPolicy: events.PolicyOpen})
	}
	var batches atomic.Int32
	nc, js := f.srv.ConnectJS(t)
	_, run := f.projector(Config{JS: js, BatchSize: 5, AckWait: DefaultAckWait, crashAt: func(s string) error {
		if s == "info-written" && batches.Add(1) == 2 {
			nc.Close() // the process dies with its batch unacknowledged
			return errors.New("kill")
		}
		return nil
	}})
	for i := range 30 {
		f.do(fmt.Sprintf("r%d", i%4), "o", group.Invite{UserIDs: []string{fmt.Sprintf("u%d", i)}})
	}
	if err := run.wait(t, 20*time.Second); err == nil {
		t.Fatal("the projector did not crash")
	}
	last := f.stream.CachedInfo().State.LastSeq
	if info, err := f.stream.Info(context.Background()); err == nil {
		last = info.State.LastSeq
	}
	killed := time.Now()
	f.projector(Config{BatchSize: 5, AckWait: DefaultAckWait})
	natstest.Eventually(t, 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := ReadStatus(ctx, f.js)
		if err != nil {
			return err
		}
		if st.AppliedSeq < last {
			return fmt.Errorf("applied %d of %d", st.AppliedSeq, last)
		}
		return nil
	})
	t.Logf("restarted projector caught up %s after the restart (AckWait %s)", time.Since(killed).Round(time.Millisecond), DefaultAckWait)
	f.caughtUp(1, 10*time.Second)
}

// A batch that takes longer than AckWait is not redelivered meanwhile: the
// commits it holds are marked in progress.
func TestSlowBatchIsMarkedInProgress(t *testing.T) {
	f := newFixture(t)
	const ackWait = 300 * time.Millisecond
	for g := range 3 {
		f.do(fmt.Sprintf("s%d", g), "o", group.Create{Name: "s", JoinPolicy: events.PolicyOpen})
	}
	var first atomic.Bool
	p, _ := f.projector(Config{BatchSize: 10, AckWait: ackWait, crashAt: func(s string) error {
		if s == "members-written" && first.CompareAndSwap(false, true) {
			// Slow work (a large group's catch-up, a slow store) holds
			// the batch for several AckWaits.
			<-time.After(5 * ackWait)
		}
		return nil
	}})
	f.caughtUp(1, 20*time.Second)
	if !first.Load() {
		t.Fatal("no batch was held")
	}
	ctx := context.Background()
	c, err := f.stream.Consumer(ctx, DurableName(1))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || p.Stats().Redelivered != 0 {
		t.Fatalf("the held batch was redelivered: consumer %d redelivered, projector skipped %d", info.NumRedelivered, p.Stats().Redelivered)
	}
}
