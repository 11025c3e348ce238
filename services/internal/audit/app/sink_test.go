package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func cmd(i int) record.Command {
	return record.Command{ID: fmt.Sprintf("cmd-%03d", i), CommandID: "c", Subject: "roster.cmd.invite", GroupID: "G", Actor: "o",
		Outcome: record.OutcomeRejected, ReceivedAt: t0.Add(time.Duration(i) * time.Second)}
}

// startSink runs a sink on src and store until the test ends.
func startSink(t *testing.T, cfg app.SinkConfig, src app.Source) *app.Sink {
	t.Helper()
	cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 10 * time.Millisecond
	}
	s, err := app.NewSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, src) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sink: %v", err)
		}
	})
	return s
}

func waitCommands(t *testing.T, store *memory.Store, want int) {
	t.Helper()
	natstest.Eventually(t, 5*time.Second, func() error {
		cmds, err := store.Commands(context.Background(), app.Filter{Limit: app.MaxLimit})
		if err != nil {
			return err
		}
		if len(cmds) != want {
			return fmt.Errorf("want %d commands stored, have %d", want, len(cmds))
		}
		return nil
	})
}

// TestSinkRetriesOnTheBackoffSchedule: while the store fails, the sink
// retries after 200ms, 400ms, 800ms (the default schedule, no jitter) on
// its clock, acknowledges nothing meanwhile, and acknowledges the batch
// once it is stored. A fake clock makes it instant.
func TestSinkRetriesOnTheBackoffSchedule(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	store := memory.New()
	fl := &flaky{next: store, n: 3, err: errDown, clock: clock}
	q := newQueue()
	reg := prometheus.NewRegistry()
	// Both messages are queued before the sink starts, so they make one
	// batch. A batch handed over while the writer is busy waits on a
	// ticker of the same fake clock, which BlockUntil below would count
	// as the retry timer: so the test first waits for the failed attempt
	// and for the sink to fetch again (the hand-over is over, its ticker
	// stopped), leaving the retry timer the clock's only waiter.
	q.push(nil, cmd(1))
	q.push(nil, cmd(2))
	s := startSink(t, app.SinkConfig{Store: fl, Clock: clock, Metrics: reg}, q)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for k, d := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		natstest.Eventually(t, 5*time.Second, func() error {
			if n, _ := fl.tries(); n != k+1 || q.fetched() < 2 {
				return fmt.Errorf("want attempt %d made and the batch handed over, have %d attempts, %d fetches", k+1, n, q.fetched())
			}
			return nil
		})
		if err := clock.BlockUntilContext(ctx, 1); err != nil { // the retry timer
			t.Fatal(err)
		}
		if n, _ := fl.tries(); n != k+1 {
			t.Fatalf("before retry %d: want %d attempts, have %d", k+1, k+1, n)
		}
		if acked, _, _ := q.snapshot(); acked != 0 {
			t.Fatalf("want nothing acknowledged while the store fails, have %d", acked)
		}
		clock.Advance(d - time.Millisecond)
		if n, _ := fl.tries(); n != k+1 {
			t.Fatalf("retry %d came before %s", k+1, d)
		}
		clock.Advance(time.Millisecond)
		natstest.Eventually(t, 5*time.Second, func() error {
			if n, _ := fl.tries(); n != k+2 {
				return fmt.Errorf("want attempt %d after %s", k+2, d)
			}
			return nil
		})
	}
	waitCommands(t, store, 2)
	natstest.Eventually(t, 5*time.Second, func() error {
		if acked, _, _ := q.snapshot(); acked != 2 {
			return fmt.Errorf("want both messages acknowledged, have %d", acked)
		}
		return nil
	})
	_, at := fl.tries()
	for i, want := range []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond, 1400 * time.Millisecond} {
		if have := at[i].Sub(t0); have != want {
			t.Errorf("attempt %d: want at +%s, have +%s", i+1, want, have)
		}
	}
	if have := testutil.ToFloat64(s.Metrics().InsertErrors.WithLabelValues("transient")); have != 3 {
		t.Errorf("transient insert errors: want 3, have %v", have)
	}
	if have := testutil.ToFloat64(s.Metrics().Rows.WithLabelValues("commands")); have != 2 {
		t.Errorf("rows inserted: want 2, have %v", have)
	}
}

// TestSinkIsolatesRefusedRecords: when the store refuses a batch, the sink
// writes its messages one by one, dead-letters only the refused one, and
// stores and acknowledges the rest.
func TestSinkIsolatesRefusedRecords(t *testing.T) {
	store := memory.New()
	fl := &flaky{next: store, clock: clockwork.NewRealClock(), refuse: map[string]bool{"cmd-002": true}}
	q := newQueue()
	s := startSink(t, app.SinkConfig{Store: fl, BatchSize: 10}, q)
	for i := range 5 {
		q.push(nil, cmd(i))
	}
	waitCommands(t, store, 4)
	natstest.Eventually(t, 5*time.Second, func() error {
		acked, dead, _ := q.snapshot()
		if acked != 5 || len(dead) != 1 {
			return fmt.Errorf("want 5 acknowledged, 1 of them dead-lettered; have %d and %v", acked, dead)
		}
		if reason := dead["cmd-002"]; !strings.Contains(reason, "cannot hold cmd-002") {
			return fmt.Errorf("dead letter reason: want the store's, have %q", reason)
		}
		return nil
	})
	if have := testutil.ToFloat64(s.Metrics().DeadLetters); have != 1 {
		t.Errorf("dead letters: want 1, have %v", have)
	}
}

// TestSinkDeadLettersUndecodable: a message that does not decode is
// dead-lettered with the decoder's reason; one with no records is
// acknowledged and skipped; the others are stored.
func TestSinkDeadLettersUndecodable(t *testing.T) {
	store := memory.New()
	q := newQueue()
	startSink(t, app.SinkConfig{Store: store}, q)
	q.push(nil, cmd(1))
	bad := q.push(record.Malformed("decode: want a JSON object"))
	skip := q.push(nil)
	q.push(nil, cmd(2))
	waitCommands(t, store, 2)
	natstest.Eventually(t, 5*time.Second, func() error {
		acked, dead, _ := q.snapshot()
		if acked != 4 || len(dead) != 1 || !strings.Contains(dead[bad], "want a JSON object") {
			return fmt.Errorf("want 4 acknowledged and %s dead-lettered with its reason; have %d, %v", bad, acked, dead)
		}
		if _, ok := dead[skip]; ok {
			return errors.New("a message with no records was dead-lettered")
		}
		return nil
	})
}

// TestSinkHeartbeatsWhatItHolds: during an outage the sink calls
// InProgress on the batch it retries (at every retry) and on the batch it
// holds ahead (every AckWait/3), so the source does not redeliver them.
func TestSinkHeartbeatsWhatItHolds(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	fl := &flaky{next: memory.New(), n: 1 << 30, err: errDown, clock: clock}
	q := newQueue()
	startSink(t, app.SinkConfig{Store: fl, Clock: clock, BatchSize: 1, AckWait: 3 * time.Second,
		Backoff: app.Backoff{Min: time.Second, Max: time.Second}}, q)
	q.push(nil, cmd(1)) // being retried
	q.push(nil, cmd(2)) // held ahead
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A third fetch means the reader has handed the first batch over and
	// stopped waiting for that (its transient tickers are gone).
	waitFetches(t, q, 3)
	// Both wait on the clock: the retry timer and the hand-over ticker.
	if err := clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	_, _, before := q.snapshot()
	clock.Advance(time.Second) // one retry (fails again) and one tick
	natstest.Eventually(t, 5*time.Second, func() error {
		if _, _, beats := q.snapshot(); beats < before+2 {
			return fmt.Errorf("want InProgress on both held messages, have %d calls since", beats-before)
		}
		return nil
	})
	if acked, _, _ := q.snapshot(); acked != 0 {
		t.Errorf("want nothing acknowledged during the outage, have %d", acked)
	}
}

// TestSinkHoldsTwoBatchesAheadAndHeartbeatsThem: while the store is down
// the reader fetches two batches beyond the one retried and no more (the
// bound on what an outage takes out of the source), and each of the three
// is marked in progress by whoever holds it: the writer at every retry,
// the hand-over and the reader every AckWait/3.
func TestSinkHoldsTwoBatchesAheadAndHeartbeatsThem(t *testing.T) {
	clock := clockwork.NewFakeClockAt(t0)
	fl := &flaky{next: memory.New(), n: 1 << 30, err: errDown, clock: clock}
	q := newQueue()
	startSink(t, app.SinkConfig{Store: fl, Clock: clock, BatchSize: 1, AckWait: 3 * time.Second,
		Backoff: app.Backoff{Min: time.Second, Max: time.Second}}, q)
	for i := range 4 {
		q.push(nil, cmd(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The third fetch took the third message: the first two are handed
	// over or being handed over, and the reader holds the third.
	waitFetches(t, q, 3)
	// The retry timer, the hand-over's ticker and the reader's.
	if err := clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if have := q.waiting(); have != 1 {
		t.Fatalf("want the fourth message left in the source, have %d left", have)
	}
	_, _, before := q.snapshot()
	clock.Advance(time.Second) // one retry (fails again) and two ticks
	natstest.Eventually(t, 5*time.Second, func() error {
		if _, _, beats := q.snapshot(); beats < before+3 {
			return fmt.Errorf("want InProgress on the three held messages, have %d calls since", beats-before)
		}
		return nil
	})
	if acked, _, _ := q.snapshot(); acked != 0 {
		t.Errorf("want nothing acknowledged during the outage, have %d", acked)
	}
	if have := q.waiting(); have != 1 {
		t.Errorf("want the fourth message still in the source, have %d left", have)
	}
}

// waitFetches waits until the sink has called Fetch at least n times.
func waitFetches(t *testing.T, q *queue, n int) {
	t.Helper()
	natstest.Eventually(t, 5*time.Second, func() error {
		if have := q.fetched(); have < n {
			return fmt.Errorf("want %d fetches, have %d", n, have)
		}
		return nil
	})
}

// gated is a store whose inserts wait until release is closed.
type gated struct {
	next    app.RecordStore
	started chan struct{} // closed when the first insert begins
	release chan struct{}
	once    sync.Once
}

func (g *gated) Insert(ctx context.Context, batch []record.Record) error {
	g.once.Do(func() { close(g.started) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.next.Insert(ctx, batch)
}

// TestSinkHeartbeatsDuringASlowInsert: an insert that takes longer than a
// third of the ack wait gets its messages marked in progress (in real
// time, as the server counts the ack wait), so a live sink's slow insert
// is not redelivered to another sink; they are acknowledged once it ends.
func TestSinkHeartbeatsDuringASlowInsert(t *testing.T) {
	g := &gated{next: memory.New(), started: make(chan struct{}), release: make(chan struct{})}
	q := newQueue()
	startSink(t, app.SinkConfig{Store: g, BatchSize: 1, AckWait: 1500 * time.Millisecond,
		Backoff: app.Backoff{Min: 100 * time.Millisecond, Max: time.Second}}, q)
	q.push(nil, cmd(1))
	<-g.started
	_, _, before := q.snapshot()
	natstest.Eventually(t, 5*time.Second, func() error {
		if _, _, beats := q.snapshot(); beats < before+2 {
			return fmt.Errorf("want InProgress twice during the insert, have %d calls since it began", beats-before)
		}
		return nil
	})
	if acked, _, _ := q.snapshot(); acked != 0 {
		t.Fatalf("acknowledged %d before the insert ended", acked)
	}
	close(g.release)
	natstest.Eventually(t, 5*time.Second, func() error {
		if acked, _, _ := q.snapshot(); acked != 1 {
			return fmt.Errorf("want 1 acknowledged after the insert, have %d", acked)
		}
		return nil
	})
}
