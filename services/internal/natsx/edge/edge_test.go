package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

type echoReq struct {
	Name string `json:"name"`
}

type echoResp struct {
	Hello string `json:"hello"`
}

// serve starts a micro service "edge-test" whose endpoints are hs.
func serve(t *testing.T, cfg edge.Config, hs map[string]edge.HandlerFunc) *nats.Conn {
	t.Helper()
	srv := natstest.Start(t)
	cfg.NC = srv.NC
	cfg.Log = zerolog.Nop()
	e, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := micro.AddService(srv.NC, micro.Config{Name: "edge-test", Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	g := svc.AddGroup("test")
	for name, h := range hs {
		if err := g.AddEndpoint(name, e.Handler(name, h)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = svc.Stop(); e.Wait() })
	// The endpoints' subscriptions must reach the server before another
	// connection's request does.
	if err := srv.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	return srv.Connect(t)
}

func request(t *testing.T, nc *nats.Conn, subject string, msg *nats.Msg) *nats.Msg {
	t.Helper()
	msg.Subject = subject
	rep, err := nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	return rep
}

func wantError(t *testing.T, rep *nats.Msg, code events.Code, status, text string) {
	t.Helper()
	var body edge.ErrorBody
	if err := json.Unmarshal(rep.Data, &body); err != nil {
		t.Fatalf("error body %q: %v", rep.Data, err)
	}
	if body.Error.Code != code {
		t.Fatalf("code: want %s, have %s (%s)", code, body.Error.Code, rep.Data)
	}
	if have := rep.Header.Get(micro.ErrorCodeHeader); have != status {
		t.Fatalf("%s: want %s, have %q", micro.ErrorCodeHeader, status, have)
	}
	if have := rep.Header.Get(micro.ErrorHeader); have != string(code)+": "+body.Error.Message {
		t.Fatalf("%s: want %q, have %q", micro.ErrorHeader, string(code)+": "+body.Error.Message, have)
	}
	if !strings.Contains(body.Error.Message, text) {
		t.Fatalf("message: want it to contain %q, have %q", text, body.Error.Message)
	}
}

func TestEdge(t *testing.T) {
	hello := edge.JSON(func(_ context.Context, r *echoReq) (echoResp, error) {
		if r.Name == "" {
			return echoResp{}, events.Errorf(events.CodeInvalidArgument, "name is required")
		}
		return echoResp{Hello: r.Name}, nil
	})
	nc := serve(t, edge.Config{MaxRequestBytes: 64, MaxHeaderBytes: 64}, map[string]edge.HandlerFunc{
		"hello": hello,
		"internal": func(context.Context, edge.Request) (edge.Reply, error) {
			return edge.Reply{}, errors.New("secret detail of a failure")
		},
		"typed-internal": func(context.Context, edge.Request) (edge.Reply, error) {
			return edge.Reply{}, events.Errorf(events.CodeInternal, "secret detail of a typed failure")
		},
		"down": func(context.Context, edge.Request) (edge.Reply, error) {
			return edge.Reply{}, nats.ErrNoResponders
		},
	})

	rep := request(t, nc, "test.hello", &nats.Msg{Data: []byte(`{"name":"ada"}`)})
	if string(rep.Data) != `{"hello":"ada"}` || rep.Header.Get(micro.ErrorCodeHeader) != "" {
		t.Fatalf("want {\"hello\":\"ada\"}, have %q %v", rep.Data, rep.Header)
	}
	for _, tc := range []struct {
		name, subject, body string
		header              nats.Header
		code                events.Code
		status, text        string
	}{
		{"typed error", "test.hello", `{}`, nil, events.CodeInvalidArgument, "400", "name is required"},
		{"case-folded key", "test.hello", `{"Name":"ada"}`, nil, events.CodeInvalidArgument, "400", "Name"},
		{"duplicate key", "test.hello", `{"name":"a","name":"b"}`, nil, events.CodeInvalidArgument, "400", "name"},
		{"unknown field", "test.hello", `{"name":"a","x":1}`, nil, events.CodeInvalidArgument, "400", "x"},
		{"trailing garbage", "test.hello", `{"name":"a"}Callback ok`, nil, events.CodeInvalidArgument, "400", ""},
		{"oversize body", "test.hello", `{"name":"` + strings.Repeat("a", 80) + `"}`, nil, events.CodeInvalidArgument, "400", "larger than 64 bytes"},
		{"oversize headers", "test.hello", `{"name":"a"}`, nats.Header{"X-Big": {strings.Repeat("h", 80)}}, events.CodeInvalidArgument, "400", "headers"},
		{"internal detail hidden", "test.internal", `{}`, nil, events.CodeInternal, "500", "internal error"},
		{"typed internal detail hidden", "test.typed-internal", `{}`, nil, events.CodeInternal, "500", "internal error"},
		{"transport failure is unavailable", "test.down", `{}`, nil, events.CodeUnavailable, "503", "no responders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := request(t, nc, tc.subject, &nats.Msg{Data: []byte(tc.body), Header: tc.header})
			wantError(t, rep, tc.code, tc.status, tc.text)
			if strings.Contains(string(rep.Data), "secret detail") {
				t.Fatalf("internal detail reached the caller: %s", rep.Data)
			}
		})
	}
}

// TestEdgeSlowRequestDoesNotBlockTheNext: requests to one endpoint run on
// their own goroutines, so a hanging one does not delay the next.
func TestEdgeSlowRequestDoesNotBlockTheNext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	nc := serve(t, edge.Config{}, map[string]edge.HandlerFunc{
		"wait": func(ctx context.Context, r edge.Request) (edge.Reply, error) {
			if string(r.Data) == "hang" {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return edge.Reply{Body: []byte(`"done"`)}, nil
		},
	})
	if err := nc.PublishRequest("test.wait", nats.NewInbox(), []byte("hang")); err != nil {
		t.Fatal(err)
	}
	rep := request(t, nc, "test.wait", &nats.Msg{Data: []byte("quick")})
	if string(rep.Data) != `"done"` {
		t.Fatalf("want \"done\", have %q", rep.Data)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := edge.New(edge.Config{}); err == nil {
		t.Fatal("want an error without NC")
	}
}

// TestEdgeRefusedHook: a service that accounts for every request learns of
// the edge's own refusals, and its answer is what the caller reads.
func TestEdgeRefusedHook(t *testing.T) {
	refused := make(chan string, 1)
	nc := serve(t, edge.Config{MaxRequestBytes: 16, Refused: func(_ context.Context, name string, req edge.Request, err error) error {
		refused <- name + " " + string(req.Data)
		return events.Wrap(events.CodeUnavailable, err, "trail down")
	}}, map[string]edge.HandlerFunc{
		"ok": func(context.Context, edge.Request) (edge.Reply, error) { return edge.Reply{Body: []byte(`"ok"`)}, nil },
	})
	if rep := request(t, nc, "test.ok", &nats.Msg{Data: []byte(`{}`)}); string(rep.Data) != `"ok"` {
		t.Fatalf("a request within the caps: want \"ok\", have %q", rep.Data)
	}
	big := strings.Repeat("b", 17)
	wantError(t, request(t, nc, "test.ok", &nats.Msg{Data: []byte(big)}), events.CodeUnavailable, "503", "trail down")
	if have := <-refused; have != "ok "+big {
		t.Fatalf("hook saw %q, want %q", have, "ok "+big)
	}
}

// goroutineID is the running goroutine's number, from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// At most MaxInFlight requests run at once; the rest wait for a slot and
// are all answered once the running ones end.
func TestEdgeBoundsRequestsInFlight(t *testing.T) {
	const limit, sent = 3, 12
	var running, most atomic.Int32
	release := make(chan struct{})
	nc := serve(t, edge.Config{MaxInFlight: limit}, map[string]edge.HandlerFunc{
		"hold": func(ctx context.Context, r edge.Request) (edge.Reply, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return edge.Reply{Body: []byte(`"done"`)}, nil
		},
	})
	inbox := nats.NewInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	for range sent {
		if err := nc.PublishRequest("test.hold", inbox, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		if n := running.Load(); n != limit {
			return fmt.Errorf("%d requests running, want %d", n, limit)
		}
		return nil
	})
	close(release)
	for i := range sent {
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i+1, sent, err)
		}
		if string(m.Data) != `"done"` {
			t.Fatalf("want \"done\", have %q", m.Data)
		}
	}
	if m := most.Load(); m != limit {
		t.Fatalf("want at most %d requests at once (and that many under load), have %d", limit, m)
	}
}

// Requests reuse the edge's workers instead of starting a goroutine each.
func TestEdgeReusesWorkers(t *testing.T) {
	const sent = 100
	var mu sync.Mutex
	seen := map[string]bool{}
	nc := serve(t, edge.Config{}, map[string]edge.HandlerFunc{
		"who": func(ctx context.Context, r edge.Request) (edge.Reply, error) {
			mu.Lock()
			seen[goroutineID()] = true
			mu.Unlock()
			return edge.Reply{Body: []byte(`"me"`)}, nil
		},
	})
	for range sent {
		request(t, nc, "test.who", &nats.Msg{})
	}
	mu.Lock()
	defer mu.Unlock()
	// One request at a time: a worker is idle again by the next request,
	// or about to be; only that race starts another.
	if len(seen) > 10 {
		t.Fatalf("want %d sequential requests on a few workers, have %d goroutines", sent, len(seen))
	}
}

// An asynchronous handler's request holds its slot until done is called,
// not until the handler returns: with MaxInFlight 2, a third request is
// handled only once an earlier one is answered; every one is answered.
func TestEdgeAsyncHandlerHoldsItsSlotUntilDone(t *testing.T) {
	const limit, sent = 2, 6
	srv := natstest.Start(t)
	e, err := edge.New(edge.Config{NC: srv.NC, Log: zerolog.Nop(), MaxInFlight: limit})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		pending []func(edge.Reply, error)
		most    int
	)
	svc, err := micro.AddService(srv.NC, micro.Config{Name: "edge-async-test", Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddGroup("test").AddEndpoint("later", e.AsyncHandler("later", func(ctx context.Context, r edge.Request, done func(edge.Reply, error)) {
		mu.Lock()
		defer mu.Unlock()
		pending = append(pending, done)
		most = max(most, len(pending))
	})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(); e.Wait() })
	if err := srv.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	nc := srv.Connect(t)
	inbox := nats.NewInbox()
	replies, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	for range sent {
		if err := nc.PublishRequest("test.later", inbox, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for answered := 0; answered < sent; answered++ {
		// Answer the oldest pending request once the edge is full (or
		// holds all that are left).
		var done func(edge.Reply, error)
		natstest.Eventually(t, 5*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(pending) < min(limit, sent-answered) {
				return fmt.Errorf("%d requests pending", len(pending))
			}
			done, pending = pending[0], pending[1:]
			return nil
		})
		done(edge.Reply{Body: []byte(`"later"`)}, nil)
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("reply %d: %v", answered+1, err)
		}
		if string(m.Data) != `"later"` {
			t.Fatalf("want \"later\", have %q", m.Data)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most != limit {
		t.Fatalf("want at most %d requests pending at once, have %d", limit, most)
	}
}
