package endpointmem_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/webhook/adapters/endpointmem"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
	"github.com/rosterhq/roster/services/internal/webhook/endpointtest"
)

func TestContract(t *testing.T) {
	endpointtest.Run(t, func(t *testing.T, keys *endpoint.Keyring) endpointtest.Subject {
		s := endpointmem.New(keys)
		return endpointtest.Subject{Store: s, AtRest: func(*testing.T) [][]byte { return s.AtRest() }}
	})
}
