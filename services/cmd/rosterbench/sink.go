package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpSink is the loopback webhook receiver of the dispatch and end-to-end
// probes: /ep/<n> answers 204 and counts, /hang never answers until the
// sink closes. It keeps the bodies /ep/0 received so the baseline can POST
// exactly them.
type httpSink struct {
	srv    *http.Server
	ln     net.Listener
	counts [16]atomic.Int64
	hang   chan struct{}

	mu       sync.Mutex
	keep     bool
	bodies   [][]byte
	onArrive func(body []byte, at time.Time)
}

func startSink() (*httpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &httpSink{ln: ln, hang: make(chan struct{})}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *httpSink) url(path string) string { return "http://" + s.ln.Addr().String() + path }

func (s *httpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/hang" {
		select {
		case <-s.hang:
		case <-r.Context().Done():
		}
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	at := time.Now()
	n := 0
	if rest, ok := strings.CutPrefix(r.URL.Path, "/ep/"); ok && len(rest) > 0 {
		for _, c := range rest {
			n = n*10 + int(c-'0')
		}
	}
	if n < 0 || n >= len(s.counts) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.mu.Lock()
	if n == 0 && s.keep {
		s.bodies = append(s.bodies, body)
	}
	on := s.onArrive
	s.mu.Unlock()
	if on != nil {
		on(body, at)
	}
	s.counts[n].Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (s *httpSink) count(n int) int64 { return s.counts[n].Load() }

func (s *httpSink) close() {
	close(s.hang)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// waitCounts polls until every endpoint n in eps has received at least
// want requests, or timeout passes; it returns when that happened.
func waitCounts(ctx context.Context, s *httpSink, eps []int, want int64, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		for _, n := range eps {
			if s.count(n) < want {
				done = false
				break
			}
		}
		if done {
			return time.Now(), true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Now(), false
		}
		time.Sleep(2 * time.Millisecond)
	}
}
