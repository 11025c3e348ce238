package eventstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/eventstore/storetest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// factory opens stores on one provisioned stream.
func factory(js jetstream.JetStream, stream jetstream.Stream) storetest.Factory {
	return func(t *testing.T, batchSize int) storetest.Backend {
		st, err := eventstore.Open(js, stream, eventstore.Config{BatchSize: batchSize})
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Backend{Store: st, Consumers: func(ctx context.Context) (int, error) {
			info, err := stream.Info(ctx)
			if err != nil {
				return 0, err
			}
			return info.State.Consumers, nil
		}}
	}
}

func TestContractSingleServer(t *testing.T) {
	srv := natstest.Start(t)
	stream, err := eventstore.Provision(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, factory(srv.JS, stream))
}

func TestContractReplicatedCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	stream := provisionReplicated(t, c)
	storetest.Run(t, factory(c.JS, stream))
}

// provisionReplicated creates an R3 ROSTER_EVENTS once every node has
// joined (until then placement finds too few peers).
func provisionReplicated(t *testing.T, c *natstest.Cluster) jetstream.Stream {
	t.Helper()
	var stream jetstream.Stream
	natstest.Eventually(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		stream, err = eventstore.Provision(ctx, c.JS, eventstore.StreamConfig{Replicas: 3})
		return err
	})
	c.WaitStreamCurrent(t, events.StreamName, 30*time.Second)
	return stream
}

// asyncStore is a Store whose Append goes through AppendAsync, so the
// contract's append cases check the pipelined path too.
type asyncStore struct{ *eventstore.Store }

func (s asyncStore) Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	type outcome struct {
		res eventstore.AppendResult
		err error
	}
	ch := make(chan outcome, 1)
	s.AppendAsync(c, expectedSeq, func(res eventstore.AppendResult, err error) { ch <- outcome{res, err} }, opts...)
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
}

// asyncFactory is factory with appends through AppendAsync.
func asyncFactory(js jetstream.JetStream, stream jetstream.Stream) storetest.Factory {
	sync := factory(js, stream)
	return func(t *testing.T, batchSize int) storetest.Backend {
		b := sync(t, batchSize)
		b.Store = asyncStore{b.Store.(*eventstore.Store)}
		return b
	}
}

func TestContractAsyncAppendSingleServer(t *testing.T) {
	srv := natstest.Start(t)
	stream, err := eventstore.Provision(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, asyncFactory(srv.JS, stream))
}

func TestContractAsyncAppendReplicatedCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	stream := provisionReplicated(t, c)
	storetest.Run(t, asyncFactory(c.JS, stream))
}
