package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// health serves /metrics (Prometheus default registry, where every service
// registers its collectors), /healthz and /readyz on --metrics-addr.
//
// /healthz is liveness: 200 while the process runs, whatever NATS does (a
// restart would not bring NATS back). /readyz is readiness: 200 only when
// the process is connected to NATS and every service it runs serves; 503,
// naming what is missing, while connecting, provisioning, or restarting a
// service.
type health struct {
	ready readiness
	nc    atomic.Pointer[nats.Conn]

	mu      sync.Mutex
	serving bool
	stopFn  func()
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
	mux.Handle("/metrics", promhttp.Handler())
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

// serve starts the HTTP server on addr (nothing when addr is empty or it
// serves already) and returns a stop that is a no-op when this call did
// not start it.
func (h *health) serve(addr string, log zerolog.Logger) (stop func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if addr == "" || h.serving {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics server stopped")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("metrics, /healthz and /readyz listening")
	h.serving = true
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			<-done
			h.mu.Lock()
			h.serving = false
			h.mu.Unlock()
		})
	}, nil
}

// keep hands the server's stop to h (stopped by h.stop).
func (h *health) keep(stop func()) {
	h.mu.Lock()
	h.stopFn = stop
	h.mu.Unlock()
}

func (h *health) stop() {
	h.mu.Lock()
	stop := h.stopFn
	h.stopFn = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}
