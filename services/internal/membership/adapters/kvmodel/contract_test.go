package kvmodel_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/membership/readmodeltest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestReadModelContract runs the read model's contract against a real
// NATS server's KV, one server for all cases (each its own generation).
func TestReadModelContract(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.ConnectJS(t)
	readmodeltest.Run(t, func(t *testing.T, gen uint64) app.ReadModel {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		m, err := kvmodel.Create(ctx, js, gen, kvmodel.Options{Store: kvmodel.StoreConfig{Memory: true}, WatchBase: ctx})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
