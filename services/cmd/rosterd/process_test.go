package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestProcessStopsOnAPermanentError: one service that cannot start stops
// the whole process with its reason; the other service is stopped, and
// only once it has returned do the HTTP server and the process's NATS
// connection go (it still reaches /healthz while it drains).
func TestProcessStopsOnAPermanentError(t *testing.T) {
	srv := natstest.Start(t)
	addr := freeAddr(t)
	o := &options{natsURL: srv.URL(), logFormat: "json", logLevel: "error", metricsAddr: addr}
	var (
		drained     atomic.Int32 // /healthz status seen while draining
		connectedAt atomic.Bool  // NATS connection still up while draining
	)
	running, proceed := make(chan struct{}), make(chan struct{})
	ok := service{name: "ok", build: func(_ context.Context, e *env) ([]component, error) {
		return []component{{name: "ok", run: func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			code, _, err := probe(addr, "/healthz")
			if err == nil {
				drained.Store(int32(code))
			}
			connectedAt.Store(e.nc.IsConnected())
			return nil
		}}}, nil
	}}
	builds := 0
	bad := service{name: "bad", build: func(ctx context.Context, _ *env) ([]component, error) {
		builds++
		// Fail once the process serves, so the stop is seen from running
		// actors.
		select {
		case <-proceed:
		case <-ctx.Done():
		}
		return nil, fmt.Errorf("bad config: %w", errPermanent)
	}}
	p, err := newProcess(o, "test", []service{ok, bad})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.run(context.Background()) }()
	natstest.Eventually(t, 10*time.Second, wantStatus(addr, "/healthz", http.StatusOK))
	<-running
	close(proceed)
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not stop")
	}
	if err == nil || err.Error() != "start bad: bad config: permanent" || !errors.Is(err, errPermanent) {
		t.Fatalf("want the permanent start error, have %v", err)
	}
	if builds != 1 {
		t.Fatalf("want no retry of a permanent error, have %d builds", builds)
	}
	if drained.Load() != http.StatusOK || !connectedAt.Load() {
		t.Fatalf("while the services drained: /healthz %d, NATS connected %v; want 200, true", drained.Load(), connectedAt.Load())
	}
	if _, _, err := probe(addr, "/healthz"); err == nil {
		t.Fatal("/healthz still answers after the process stopped")
	}
}

// TestProcessStopsCleanlyOnContext: the end of the process's context (a
// signal, in a real process) stops it with no error.
func TestProcessStopsCleanlyOnContext(t *testing.T) {
	srv := natstest.Start(t)
	o := &options{natsURL: srv.URL(), logFormat: "json", logLevel: "error"}
	running := make(chan struct{})
	s := service{name: "s", build: func(context.Context, *env) ([]component, error) {
		return []component{{name: "s", run: func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			return nil
		}}}, nil
	}}
	p, err := newProcess(o, "test", []service{s})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	<-running
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("want a clean stop, have %v", err)
	}
}

// TestMetricsFromTheProcessRegistry: /metrics serves the process's own
// registry (Go and process collectors, the services' collectors, the
// handler's own counters) and, until every package takes its registerer
// from its Config, the families still registered globally; rosterd's own
// collectors are not on the global registry.
func TestMetricsFromTheProcessRegistry(t *testing.T) {
	srv := natstest.Start(t)
	addr := freeAddr(t)
	o := &options{natsURL: srv.URL(), logFormat: "json", logLevel: "error", metricsAddr: addr, replicas: 1, trustUnattested: true}
	svcs, err := servicesNamed(services(), "groups", "projector")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newProcess(o, "test", svcs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	natstest.Eventually(t, 20*time.Second, wantStatus(addr, "/readyz", http.StatusOK))
	// Twice: the handler's own counter shows from the second scrape on.
	if _, _, err := probe(addr, "/metrics"); err != nil {
		t.Fatal(err)
	}
	code, body, err := probe(addr, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, name := range []string{
		"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total", // process registry
		"roster_projection_commits_total", "roster_projection_generation", // rosterd's own, on it
		"roster_command_conflicts_total",      // groups, on the process registry
		"roster_eventstore_leader_gets_total", // the groups' event store, on the process registry
	} {
		if !strings.Contains(body, "\n# TYPE "+name+" ") {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if n := strings.Count(body, "\n# TYPE go_goroutines "); n != 1 {
		t.Errorf("go_goroutines served %d times, want once", n)
	}
	global, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range global {
		if strings.HasPrefix(mf.GetName(), "roster_") {
			t.Errorf("%s is on the global registry", mf.GetName())
		}
	}
}
