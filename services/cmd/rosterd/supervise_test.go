package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// TestBackOffSchedule: the supervisor's schedule is 250ms doubling up to
// 15s, each delay within +-20%.
func TestBackOffSchedule(t *testing.T) {
	base := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second}
	exact := *newBackOff().(*backoff.ExponentialBackOff)
	exact.RandomizationFactor = 0
	for i, want := range base {
		if have := exact.NextBackOff(); have != want {
			t.Fatalf("retry %d without jitter: want %s, have %s", i, want, have)
		}
	}
	// With jitter: every delay within the band, and the band used (1000
	// runs make a miss of either edge's outer quarter impossible in
	// practice).
	low, high := make([]bool, len(base)), make([]bool, len(base))
	for range 1000 {
		b := newBackOff()
		for i, d := range base {
			have := b.NextBackOff()
			if have < d*8/10 || have > d*12/10+time.Nanosecond {
				t.Fatalf("retry %d: want %s +-20%%, have %s", i, d, have)
			}
			low[i] = low[i] || have < d*85/100
			high[i] = high[i] || have > d*115/100
		}
	}
	for i := range base {
		if !low[i] || !high[i] {
			t.Fatalf("retry %d: jitter never reached below 85%% (%v) or above 115%% (%v)", i, low[i], high[i])
		}
	}
}

func TestRetryableStart(t *testing.T) {
	apiErr := func(status, code int) error {
		return fmt.Errorf("provision ROSTER_EVENTS: %w", &jetstream.APIError{Code: status, ErrorCode: jetstream.ErrorCode(code), Description: "x"})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"deadline (the dispatcher's first start)", fmt.Errorf("provision ROSTER_WEBHOOK_DELIVERIES: %w", context.DeadlineExceeded), true},
		{"no responders", fmt.Errorf("x: %w", nats.ErrNoResponders), true},
		{"connection closed", nats.ErrConnectionClosed, true},
		{"no servers", nats.ErrNoServers, true},
		{"jetstream not enabled yet", jetstream.ErrJetStreamNotEnabled, true},
		{"no meta leader", apiErr(503, 10008), true},
		{"cluster forming: no peers", apiErr(400, 10005), true},
		{"insufficient resources", apiErr(503, 10023), true},
		{"invalid config", errors.New("webhook dispatcher config: NC is required"), false},
		{"stream exists with another config", apiErr(400, 10058), false},
		{"replicas without a cluster", apiErr(500, 10074), false},
		{"marked permanent", fmt.Errorf("x: %w", errPermanent), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if have := retryableStart(tc.err); have != tc.want {
				t.Fatalf("retryableStart(%v): want %v, have %v", tc.err, tc.want, have)
			}
		})
	}
	if retryableRun(apiErr(400, 10058)) || !retryableRun(errors.New("fan-out: consumer deleted")) {
		t.Fatal("retryableRun: want a restart for any failure but a configuration conflict")
	}
}

// waits is the supervisor's fake clock: it records every delay the
// supervisor waits, and drive advances the clock by it as soon as the
// supervisor waits, so the tests take no time.
type waits struct {
	*clockwork.FakeClock
	mu     sync.Mutex
	delays []time.Duration
}

func newWaits() *waits { return &waits{FakeClock: clockwork.NewFakeClock()} }

func (w *waits) NewTimer(d time.Duration) clockwork.Timer {
	w.mu.Lock()
	w.delays = append(w.delays, d)
	w.mu.Unlock()
	return w.FakeClock.NewTimer(d)
}

func (w *waits) recorded() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.delays...)
}

// drive ends each wait of the supervisor until ctx ends, calling during
// (when set) while the supervisor waits.
func (w *waits) drive(ctx context.Context, during func()) {
	for {
		if w.BlockUntilContext(ctx, 1) != nil {
			return
		}
		if during != nil {
			during()
		}
		d := w.recorded()
		w.Advance(d[len(d)-1])
	}
}

// testSupervisor retries 1s, 2s, 4s, ... (no jitter) on w's clock.
func testSupervisor(w *waits) *supervisor {
	return &supervisor{log: zerolog.Nop(), clock: w, healthyAfter: time.Hour,
		backoff: func() backoff.BackOff {
			return &backoff.ExponentialBackOff{InitialInterval: time.Second, Multiplier: 2, MaxInterval: 8 * time.Second}
		}}
}

// TestSupervisorRetriesStart: provisioning fails on transient errors, is
// retried with growing delays, and the service serves once it succeeds; it
// is not ready before.
func TestSupervisorRetriesStart(t *testing.T) {
	w := newWaits()
	sv := testSupervisor(w)
	u := &unit{name: "dispatcher"}
	failures := []error{context.DeadlineExceeded, nats.ErrNoResponders, &jetstream.APIError{Code: 503, ErrorCode: 10008}}
	builds := 0
	serving := make(chan struct{})
	s := service{name: "dispatcher", build: func(ctx context.Context, _ *env) ([]component, error) {
		if builds++; builds <= len(failures) {
			return nil, fmt.Errorf("provision ROSTER_WEBHOOK_DELIVERIES: %w", failures[builds-1])
		}
		return []component{{name: "dispatcher", run: func(ctx context.Context) error {
			close(serving)
			<-ctx.Done()
			return nil
		}}}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	go w.drive(ctx, func() {
		if u.ready() {
			t.Error("ready while provisioning is retried")
		}
	})
	done := make(chan error, 1)
	go func() { done <- sv.run(ctx, &env{}, s, u) }()
	<-serving
	if !u.ready() {
		t.Fatal("not ready while its components run")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if u.ready() {
		t.Fatal("ready after stopping")
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	if have := w.recorded(); fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("delays: want %v, have %v", want, have)
	}
}

// TestSupervisorStopsOnPermanentError: an invalid configuration stops at
// once, with the service named.
func TestSupervisorStopsOnPermanentError(t *testing.T) {
	w := newWaits()
	s := service{name: "groups", build: func(context.Context, *env) ([]component, error) {
		return nil, errors.New("groups config: NC is required")
	}}
	err := testSupervisor(w).run(context.Background(), &env{}, s, &unit{})
	if err == nil || err.Error() != "start groups: groups config: NC is required" {
		t.Fatalf("want the start error, have %v", err)
	}
	if have := w.recorded(); len(have) != 0 {
		t.Fatalf("retries of a permanent error: %v", have)
	}
}

// TestSupervisorRestartsFailedService: a component that fails later on a
// transient error restarts its service (built anew), which is not ready
// meanwhile; the process does not end.
func TestSupervisorRestartsFailedService(t *testing.T) {
	w := newWaits()
	sv := testSupervisor(w)
	u := &unit{name: "query"}
	var readyWhileRestarting bool
	builds := 0
	second := make(chan struct{})
	s := service{name: "query", build: func(ctx context.Context, _ *env) ([]component, error) {
		builds++
		n := builds
		return []component{{name: "query", ready: func() bool { return true }, run: func(ctx context.Context) error {
			if n == 1 {
				return fmt.Errorf("watch active generation: %w", nats.ErrConnectionClosed)
			}
			close(second)
			<-ctx.Done()
			return nil
		}}}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	go w.drive(ctx, func() { readyWhileRestarting = readyWhileRestarting || u.ready() })
	done := make(chan error, 1)
	go func() { done <- sv.run(ctx, &env{}, s, u) }()
	<-second
	if !u.ready() {
		t.Fatal("not ready after the restart")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if have := w.recorded(); builds != 2 || len(have) != 1 || readyWhileRestarting {
		t.Fatalf("builds %d, waits %v, ready while restarting %v: want 2, one wait, false", builds, have, readyWhileRestarting)
	}
}

// TestSupervisorBackoffStartsOverAfterAHealthyRun: a service that served
// longer than healthyAfter (on the clock) before failing is retried after
// the first delay again, not the next one of its schedule.
func TestSupervisorBackoffStartsOverAfterAHealthyRun(t *testing.T) {
	w := newWaits()
	sv := testSupervisor(w)
	builds := 0
	third := make(chan struct{})
	s := service{name: "projector", build: func(ctx context.Context, _ *env) ([]component, error) {
		builds++
		switch builds {
		case 1:
			return nil, fmt.Errorf("provision: %w", nats.ErrNoResponders)
		case 2:
			return []component{{name: "projector", run: func(context.Context) error {
				w.Advance(2 * sv.healthyAfter) // served for two hours, then failed
				return fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
			}}}, nil
		}
		return []component{{name: "projector", run: func(ctx context.Context) error {
			close(third)
			<-ctx.Done()
			return nil
		}}}, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	go w.drive(ctx, nil)
	done := make(chan error, 1)
	go func() { done <- sv.run(ctx, &env{}, s, &unit{}) }()
	<-third
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	want := []time.Duration{time.Second, time.Second}
	if have := w.recorded(); fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("delays: want %v (started over), have %v", want, have)
	}
}

func TestReadinessNamesWhatIsMissing(t *testing.T) {
	var r readiness
	if ok, _ := r.state(); ok {
		t.Fatal("ready with no service")
	}
	a, b := r.add("groups"), r.add("dispatcher")
	serving := false
	a.comps.Store(&[]component{{name: "groups"}})
	b.comps.Store(&[]component{{name: "dispatcher", ready: func() bool { return serving }}})
	if ok, waiting := r.state(); ok || fmt.Sprint(waiting) != "[dispatcher]" {
		t.Fatalf("want dispatcher waiting, have ready %v waiting %v", ok, waiting)
	}
	serving = true
	if ok, waiting := r.state(); !ok {
		t.Fatalf("want ready, have waiting %v", waiting)
	}
}
