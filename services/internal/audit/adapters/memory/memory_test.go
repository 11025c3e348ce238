package memory_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/audit/app/storetest"
)

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return memory.New() })
}
