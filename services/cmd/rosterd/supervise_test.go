package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestBackoffDelay(t *testing.T) {
	b := backoff{Initial: 250 * time.Millisecond, Max: 15 * time.Second, Jitter: 0.2}
	for _, tc := range []struct {
		name    string
		rand    float64
		attempt int
		want    time.Duration
	}{
		{"first", 0.5, 0, 250 * time.Millisecond},
		{"doubles", 0.5, 3, 2 * time.Second},
		{"capped", 0.5, 6, 15 * time.Second},
		{"stays capped", 0.5, 60, 15 * time.Second},
		{"jitter low", 0, 2, 800 * time.Millisecond},
		{"jitter high", 0.999999, 2, 1200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.Rand = func() float64 { return tc.rand }
			have := b.delay(tc.attempt).Round(time.Millisecond)
			if have != tc.want {
				t.Fatalf("want %s, have %s", tc.want, have)
			}
		})
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

// fakeSleeps records the supervisor's waits and returns at once.
type fakeSleeps struct {
	mu     sync.Mutex
	delays []time.Duration
	during func()
}

func (f *fakeSleeps) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	return ctx.Err()
}

func (f *fakeSleeps) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.delays)
}

func testSupervisor(f *fakeSleeps) *supervisor {
	return &supervisor{log: zerolog.Nop(), backoff: backoff{Initial: time.Second, Max: 8 * time.Second},
		sleep: f.sleep, healthyAfter: time.Hour, now: time.Now}
}

// TestSupervisorRetriesStart: provisioning fails on transient errors, is
// retried with growing delays, and the service serves once it succeeds; it
// is not ready before.
func TestSupervisorRetriesStart(t *testing.T) {
	f := &fakeSleeps{}
	sv := testSupervisor(f)
	u := &unit{name: "dispatcher"}
	f.during = func() {
		if u.ready() {
			t.Error("ready while provisioning is retried")
		}
	}
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
	if fmt.Sprint(f.delays) != fmt.Sprint(want) {
		t.Fatalf("delays: want %v, have %v", want, f.delays)
	}
}

// TestSupervisorStopsOnPermanentError: an invalid configuration stops at
// once, with the service named.
func TestSupervisorStopsOnPermanentError(t *testing.T) {
	f := &fakeSleeps{}
	s := service{name: "groups", build: func(context.Context, *env) ([]component, error) {
		return nil, errors.New("groups config: NC is required")
	}}
	err := testSupervisor(f).run(context.Background(), &env{}, s, &unit{})
	if err == nil || err.Error() != "start groups: groups config: NC is required" {
		t.Fatalf("want the start error, have %v", err)
	}
	if f.count() != 0 {
		t.Fatalf("%d retries of a permanent error", f.count())
	}
}

// TestSupervisorRestartsFailedService: a component that fails later on a
// transient error restarts its service (built anew), which is not ready
// meanwhile; the process does not end.
func TestSupervisorRestartsFailedService(t *testing.T) {
	f := &fakeSleeps{}
	sv := testSupervisor(f)
	u := &unit{name: "query"}
	var readyWhileRestarting bool
	f.during = func() { readyWhileRestarting = readyWhileRestarting || u.ready() }
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
	if builds != 2 || f.count() != 1 || readyWhileRestarting {
		t.Fatalf("builds %d, waits %d, ready while restarting %v: want 2, 1, false", builds, f.count(), readyWhileRestarting)
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
