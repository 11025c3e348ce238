// Package natstest starts a real, in-process NATS server with JetStream for
// tests (random port, temporary store) and offers a polling helper so tests
// wait for conditions instead of sleeping.
package natstest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx"
)

// Server is a running test server with one client connection.
type Server struct {
	NS  *server.Server
	NC  *nats.Conn
	JS  jetstream.JetStream
	Dir string
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.NS.ClientURL() }

// Connect opens another client connection, closed when the test ends.
func (s *Server) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ConnectJS opens another client connection and its JetStream context,
// closed when the test ends (closing it earlier is how a test kills a
// component).
func (s *Server) ConnectJS(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := s.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Start runs a JetStream-enabled server on a random port, stopped when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartDir(t, t.TempDir())
}

// StartDir runs a server whose JetStream store is dir, so a test can stop it
// and start another on the same data.
func StartDir(t testing.TB, dir string) *Server {
	t.Helper()
	ns, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return &Server{NS: ns, NC: nc, JS: js, Dir: dir}
}

// Eventually polls cond every 10ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitEndpoints polls $SRV.INFO.<service> until an instance lists at least
// n endpoints. A micro service answers $SRV.PING before its endpoints
// exist; an INFO reply sent after the endpoints' subscriptions (same
// connection, in order) proves the server has them.
func WaitEndpoints(t testing.TB, nc *nats.Conn, service string, n int) {
	t.Helper()
	Eventually(t, 10*time.Second, func() error {
		msg, err := nc.Request("$SRV.INFO."+service, nil, time.Second)
		if err != nil {
			return err
		}
		var info struct {
			Endpoints []json.RawMessage `json:"endpoints"`
		}
		if err := json.Unmarshal(msg.Data, &info); err != nil {
			return err
		}
		if len(info.Endpoints) < n {
			return fmt.Errorf("%s lists %d endpoints, want %d", service, len(info.Endpoints), n)
		}
		return nil
	})
}

// KVHistory returns every stored revision of every key of a KV bucket, as
// a reader of the bucket sees them (what must never hold a plaintext
// secret).
func KVHistory(t testing.TB, js jetstream.JetStream, bucket string) [][]byte {
	t.Helper()
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for k := range keys.Keys() {
		hist, err := kv.History(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range hist {
			out = append(out, e.Value())
		}
	}
	return out
}
