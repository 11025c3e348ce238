package memory_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/audit/record/recordertest"
)

func TestRecorderContract(t *testing.T) {
	recordertest.Run(t, func(t *testing.T) (record.Recorder, recordertest.Stored) {
		r := memory.NewRecorder()
		return r, func(context.Context) ([]string, error) {
			var ids []string
			for _, rec := range r.Records() {
				ids = append(ids, rec.AuditID())
			}
			return ids, nil
		}
	})
}
