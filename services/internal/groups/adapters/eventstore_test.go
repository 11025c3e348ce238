package adapters_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/eventstore/storetest"
	"github.com/rosterhq/roster/services/internal/groups/adapters"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The event store's contract covers the app's port: what storetest checks
// is app.EventStore and LastSeq.
var _ app.EventStore = storetest.Store(nil)

// TestEventStoreContract: the adapter the command side runs on passes the
// event store's contract.
func TestEventStoreContract(t *testing.T) {
	srv := natstest.Start(t)
	stream, err := eventstore.Provision(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T, batchSize int) storetest.Backend {
		st, err := eventstore.Open(srv.JS, stream, eventstore.Config{BatchSize: batchSize})
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Backend{Store: adapters.EventStore{Store: st}, Consumers: func(ctx context.Context) (int, error) {
			info, err := stream.Info(ctx)
			if err != nil {
				return 0, err
			}
			return info.State.Consumers, nil
		}}
	})
}

// An append the stream refuses for its size matches app.ErrTooLarge (and
// keeps JetStream's error as its cause); a conflict stays a conflict.
func TestEventStoreNamesTooLarge(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.MaxMsgSize = 4 << 10
	if stream, err = srv.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st := adapters.EventStore{Store: eventstore.New(srv.JS, stream)}
	big := storetest.Commit("T", "big", 1)
	big.Events[0].Data = []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	if _, err := st.Append(ctx, big, 0); !errors.Is(err, app.ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, have %v", err)
	}
	if _, err := st.Append(ctx, storetest.Commit("T", "small", 1), 0); err != nil {
		t.Fatal(err)
	}
	_, err = st.Append(ctx, storetest.Commit("T", "late", 1), 0)
	if !errors.Is(err, eventstore.ErrConflict) || errors.Is(err, app.ErrTooLarge) {
		t.Fatalf("want a conflict, have %v", err)
	}
}
