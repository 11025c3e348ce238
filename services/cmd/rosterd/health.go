package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// health serves /metrics (the process's registry, where every service
// registers its collectors), /healthz and /readyz on --metrics-addr.
//
// /healthz is liveness: 200 while the process runs, whatever NATS does (a
// restart would not bring NATS back). /readyz is readiness: 200 only when
// the process is connected to NATS and every service it runs serves; 503,
// naming what is missing, while connecting, provisioning, or restarting a
// service.
type health struct {
	ready   readiness
	nc      atomic.Pointer[nats.Conn]
	metrics *prometheus.Registry
}

func (h *health) setConn(nc *nats.Conn) { h.nc.Store(nc) }

// readyState reports readiness and, when not ready, why.
func (h *health) readyState() (bool, string) {
	nc := h.nc.Load()
	if nc == nil {
		return false, "connecting to NATS"
	}
	if !nc.IsConnected() {
		return false, "NATS disconnected"
	}
	ok, waiting := h.ready.state()
	if !ok {
		if len(waiting) == 0 {
			return false, "starting"
		}
		return false, "not serving: " + strings.Join(waiting, ", ")
	}
	return true, ""
}

func (h *health) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(h.metrics))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := h.readyState(); !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// listen takes --metrics-addr before the process starts, so a taken
// address fails at once.
func (h *health) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	return ln, nil
}

// serveActor serves on ln from the start of the process (so /healthz
// answers while it connects to NATS) until the services have stopped.
func (h *health) serveActor(p *process, ln net.Listener) (execute func() error, interrupt func(error)) {
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	return p.afterServices(func(stop <-chan struct{}) error {
		p.log.Info().Str("addr", ln.Addr().String()).Msg("metrics, /healthz and /readyz listening")
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return fmt.Errorf("metrics server: %w", err)
		case <-stop:
			return nil
		}
	}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warn().Err(err).Msg("metrics server shutdown")
		}
	})
}
