package demo

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The receiver speaks OpenIM's after-callback contract. Broken, it answers
// what issue #3230 upstream is about: a JSON value followed by text, which
// OpenIM rejects (and so does Roster's openim judge).
const (
	BadBody  = `{"actionCode":0}Callback ok`
	GoodBody = `{"actionCode":0,"errCode":0,"errMsg":"","nextCode":0}`
)

// Receiver is the demo's OpenIM callback receiver on loopback: it answers
// BadBody until Fix, then GoodBody. It is safe for concurrent use.
type Receiver struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	fixed bool
	bad   int
	good  map[string]bool // operationID answered properly
}

// StartReceiver listens on a free loopback port and serves until Close.
func StartReceiver() (*Receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rv := &Receiver{url: "http://" + l.Addr().String(), good: map[string]bool{}}
	rv.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(rv.serve)}
	go func() { _ = rv.srv.Serve(l) }()
	return rv, nil
}

// URL is the receiver's base URL (http://127.0.0.1:port); it accepts any
// path.
func (rv *Receiver) URL() string { return rv.url }

func (rv *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	rv.mu.Lock()
	fixed := rv.fixed
	if fixed {
		rv.good[r.Header.Get("operationID")] = true
	} else {
		rv.bad++
	}
	rv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fixed {
		_, _ = io.WriteString(w, GoodBody)
		return
	}
	_, _ = io.WriteString(w, BadBody)
}

// Fix makes the receiver answer properly from now on.
func (rv *Receiver) Fix() {
	rv.mu.Lock()
	rv.fixed = true
	rv.mu.Unlock()
}

// BadCount is how many requests got BadBody.
func (rv *Receiver) BadCount() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.bad
}

// GoodCount is how many distinct operationIDs got GoodBody.
func (rv *Receiver) GoodCount() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.good)
}

// Close stops the server, waiting up to 2s for requests in flight.
func (rv *Receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = rv.srv.Shutdown(ctx)
}
