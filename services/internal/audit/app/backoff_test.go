package app

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for _, tc := range []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{name: "first", attempt: 0, want: 100 * time.Millisecond},
		{name: "doubles", attempt: 2, want: 400 * time.Millisecond},
		{name: "capped", attempt: 4, want: time.Second},
		{name: "stays capped", attempt: 1000, want: time.Second},
	} {
		if have := b.Delay(tc.attempt); have != tc.want {
			t.Errorf("%s: want %s, have %s", tc.name, tc.want, have)
		}
	}
}

// TestRetryWaitsOnTheClock: Retry waits the schedule on its clock between
// attempts, and gives up with ctx's error once ctx ends.
func TestRetryWaitsOnTheClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	var waits []time.Duration
	attempts := 0
	done := make(chan error, 1)
	go func() {
		_, err := Retry(context.Background(), clock, Backoff{Min: time.Second, Max: 3 * time.Second},
			func(_ error, d time.Duration) { waits = append(waits, d) },
			func() (int, error) {
				attempts++
				if attempts < 4 {
					return 0, errors.New("down")
				}
				return attempts, nil
			})
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(d)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("waits: want %v, have %v", want, waits)
	}

	stop, cancelStop := context.WithCancel(context.Background())
	go func() {
		_, err := Retry(stop, clock, Backoff{Min: time.Second, Max: time.Second}, nil, func() (int, error) { return 0, errors.New("down") })
		done <- err
	}()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancelStop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: want context.Canceled, have %v", err)
	}
}
