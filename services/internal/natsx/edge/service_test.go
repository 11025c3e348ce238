package edge_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/edge"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestServe: every endpoint answers on its subject through its own edge,
// Serving is told true once all are registered and false on the way out,
// and Serve returns nil when ctx ends.
func TestServe(t *testing.T) {
	srv := natstest.Start(t)
	newEdge := func() *edge.Edge {
		e, err := edge.New(edge.Config{NC: srv.NC, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEdge(), newEdge()
	hello := func(s string) edge.HandlerFunc {
		return func(context.Context, edge.Request) (edge.Reply, error) { return edge.Reply{Body: []byte(s)}, nil }
	}
	var serving atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- edge.Serve(ctx, edge.ServiceConfig{
			NC: srv.NC, Name: "edge-serve-test", Version: "0.0.1", Serving: serving.Store,
			Endpoints: []edge.Endpoint{
				{Name: "one", Subject: "serve.test.one", Edge: a, Handler: hello(`"one"`)},
				{Name: "two", Label: "serve.two", Subject: "serve.test.two", Edge: b, Handler: hello(`"two"`)},
			},
		})
	}()
	natstest.Eventually(t, 10*time.Second, func() error {
		if !serving.Load() {
			return context.DeadlineExceeded
		}
		return nil
	})
	nc := srv.Connect(t)
	for subject, want := range map[string]string{"serve.test.one": `"one"`, "serve.test.two": `"two"`} {
		rep := request(t, nc, subject, &nats.Msg{Data: []byte(`{}`)})
		if string(rep.Data) != want {
			t.Fatalf("%s: want %s, have %s", subject, want, rep.Data)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if serving.Load() {
		t.Fatal("still serving after Serve returned")
	}
}
