package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// appendAsync waits for one AppendAsync's outcome.
func appendAsync(t *testing.T, s *eventstore.Store, c events.Commit) (eventstore.AppendResult, error) {
	t.Helper()
	type outcome struct {
		res eventstore.AppendResult
		err error
	}
	ch := make(chan outcome, 1)
	s.AppendAsync(c, 0, func(res eventstore.AppendResult, err error) { ch <- outcome{res, err} })
	select {
	case o := <-ch:
		return o.res, o.err
	case <-time.After(10 * time.Second):
		t.Fatal("AppendAsync never answered")
		return eventstore.AppendResult{}, nil
	}
}

// An append nobody acknowledges fails after AppendTimeout, outcome
// unknown (unavailable); one that no stream takes fails after the
// no-responder resends, also unavailable; and the store appends again
// once the stream is back.
func TestAppendAsyncWithoutAck(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(srv.JS, stream, eventstore.Config{AppendTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appendAsync(t, s, commit("g1", "c1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := srv.JS.DeleteStream(ctx, events.StreamName); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = appendAsync(t, s, commit("g1", "c2", 1))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) || !natsx.Unavailable(err) {
		t.Fatalf("no stream: want ErrNoStreamResponse (unavailable), have %v", err)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond {
		t.Fatalf("no stream: answered after %v, before the two resends 250 ms apart", waited)
	}

	// A subscriber that takes the message but never answers, as a stream
	// leader that went away mid-append.
	nc := srv.Connect(t)
	sub, err := nc.SubscribeSync(events.SubjectPrefix + ">")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	_, err = appendAsync(t, s, commit("g1", "c3", 1))
	if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) || !natsx.Unavailable(err) {
		t.Fatalf("no ack: want ErrAsyncPublishTimeout (unavailable), have %v", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	if _, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	res, err := appendAsync(t, s, commit("g1", "c4", 1))
	if err != nil || res.Seq != 1 {
		t.Fatalf("after the stream is back: %+v, %v", res, err)
	}
}
