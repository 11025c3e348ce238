package audit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestPublisherDrainDeadlineOnItsClock: a record JetStream cannot store is
// retried on the publisher's clock; after Run's context ends, the record is
// given up (logged, counted in roster_audit_abandoned_total) once
// DrainTimeout passes on that clock, and Run returns. With a fake clock the
// 30 s drain takes no time.
func TestPublisherDrainDeadlineOnItsClock(t *testing.T) {
	ns := natstest.Start(t)
	clock := clockwork.NewFakeClock()
	p, err := NewPublisher(PublisherConfig{JS: ns.JS, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// Run provisions ROSTER_AUDIT; take it away so that every publish fails.
	natstest.Eventually(t, 10*time.Second, func() error {
		_, err := ns.JS.Stream(context.Background(), StreamName)
		return err
	})
	if err := ns.JS.DeleteStream(context.Background(), StreamName); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatal(err)
	}
	MustRecord(t, p, SampleCommand(1, "D"))
	natstest.Eventually(t, 10*time.Second, func() error {
		if testutil.ToFloat64(p.Metrics().PublishErrors) < 1 {
			return errors.New("no failed publish yet")
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before the drain deadline", err)
	default:
	}
	// Move the fake clock on, 5 s at a time, until Run returns: not before
	// the 30 s drain deadline.
	start := clock.Now()
	var runErr error
	natstest.Eventually(t, 10*time.Second, func() error {
		clock.Advance(5 * time.Second)
		select {
		case runErr = <-done:
			if elapsed := clock.Now().Sub(start); elapsed < 30*time.Second {
				t.Fatalf("Run returned %s after shutdown began, before the 30 s drain deadline", elapsed)
			}
			return nil
		default:
			return errors.New("Run has not returned")
		}
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	if have := testutil.ToFloat64(p.Metrics().Abandoned); have != 1 {
		t.Errorf("abandoned: want 1, have %v", have)
	}
	if have := p.Pending(); have != 0 {
		t.Errorf("pending: want 0, have %d", have)
	}
}
