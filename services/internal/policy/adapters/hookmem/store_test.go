package hookmem_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/policy/adapters/hookmem"
	"github.com/rosterhq/roster/services/internal/policy/hooktest"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

func TestContract(t *testing.T) {
	hooktest.Run(t, func(t *testing.T, keys *endpoint.Keyring) hooktest.Subject {
		s := hookmem.New(keys)
		return hooktest.Subject{Store: s, AtRest: func(*testing.T) [][]byte { return s.AtRest() }, Source: s, Sync: func(*testing.T) {}}
	})
}
