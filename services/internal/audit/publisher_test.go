package audit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestPublisherFullBufferBlocks: with its buffer full (here: Run not yet
// publishing), Record waits instead of dropping; it gives up only when its
// caller's context ends, and says so. Once publishing starts, every record
// it took is stored, and a Record that was waiting gets through.
func TestPublisherFullBufferBlocks(t *testing.T) {
	ns := natstest.Start(t)
	p, err := NewPublisher(PublisherConfig{JS: ns.JS, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := p.Record(ctx, SampleCommand(i, "B")); err != nil {
			t.Fatal(err)
		}
	}
	refused := testutil.ToFloat64(p.Metrics().RecordErrors.WithLabelValues("context"))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = p.Record(short, SampleCommand(2, "B"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Record on a full buffer: want the caller's deadline, have %v", err)
	}
	if n := testutil.ToFloat64(p.Metrics().RecordErrors.WithLabelValues("context")) - refused; n != 1 {
		t.Errorf("record errors (context): want 1 more, have %v", n)
	}
	if n := p.Pending(); n != 2 {
		t.Errorf("pending: want the 2 records taken, have %d", n)
	}

	waits := testutil.ToFloat64(p.Metrics().Backpressure)
	waiting := make(chan error, 1)
	go func() { waiting <- p.Record(ctx, SampleCommand(3, "B")) }()
	natstest.Eventually(t, 5*time.Second, func() error {
		if testutil.ToFloat64(p.Metrics().Backpressure) == waits {
			return errors.New("Record has not reached the full buffer yet")
		}
		return nil
	})
	select {
	case err := <-waiting:
		t.Fatalf("Record returned (%v) while the buffer was full", err)
	default:
	}

	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.Run(rctx); close(done) }()
	if err := <-waiting; err != nil {
		t.Fatalf("the waiting Record: %v", err)
	}
	FlushPublisher(t, p)
	s, err := ns.JS.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		r, err := DecodeRecord(KindCommand, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		have = append(have, r.AuditID())
	}
	slices.Sort(have)
	if want := []string{"cmd-B-0", "cmd-B-1", "cmd-B-3"}; !slices.Equal(have, want) {
		t.Fatalf("ROSTER_AUDIT: want every record taken, %v, have %v", want, have)
	}

	// Shut down: Record then refuses, loudly, instead of queueing into a
	// buffer nobody drains.
	stop()
	<-done
	if err := p.Record(ctx, SampleCommand(4, "B")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Record after shutdown: want ErrClosed, have %v", err)
	}
	if n := p.Pending(); n != 0 {
		t.Errorf("pending after shutdown: want 0, have %d", n)
	}
}
