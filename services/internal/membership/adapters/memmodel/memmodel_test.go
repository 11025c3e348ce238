package memmodel_test

import (
	"testing"

	"github.com/rosterhq/roster/services/internal/membership/adapters/memmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/membership/readmodeltest"
)

func TestReadModelContract(t *testing.T) {
	readmodeltest.Run(t, func(t *testing.T, gen uint64) app.ReadModel { return memmodel.New(gen) })
}
