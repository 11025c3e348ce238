package endpointkv_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

// The KV adapter passes the store contract against a real server (one
// per case: the bucket name is fixed).
func TestContract(t *testing.T) {
	endpointtest.Run(t, func(t *testing.T, keys *endpoint.Keyring) endpointtest.Subject {
		srv := natstest.Start(t)
		s := provision(t, srv.JS, keys)
		return endpointtest.Subject{Store: s, AtRest: func(t *testing.T) [][]byte { return natstest.KVHistory(t, srv.JS, endpoint.Bucket) }}
	})
}
