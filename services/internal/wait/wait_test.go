package wait_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/services/internal/wait"
)

func TestForWaitsOnTheClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	done := make(chan error, 1)
	go func() { done <- wait.For(context.Background(), clock, time.Hour) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("returned before the clock moved: %v", err)
	default:
	}
	clock.Advance(time.Hour)
	if err := <-done; err != nil {
		t.Fatalf("want nil, have %v", err)
	}
}

func TestForEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wait.For(ctx, clockwork.NewFakeClock(), time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, have %v", err)
	}
}
