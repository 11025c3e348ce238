package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// recordChange puts an endpoint change in the audit trail.
func (a *App) recordChange(ep endpoint.Endpoint, change, actor string, automatic bool, reason string, at time.Time) {
	b, _ := json.Marshal(ep.ForAudit())
	group := ""
	if len(ep.GroupIDs) == 1 {
		group = ep.GroupIDs[0]
	}
	r := audit.EndpointChange{
		ID: uuid.NewString(), EndpointID: ep.ID, Change: change, Actor: actor, Automatic: automatic,
		Reason: reason, GroupID: group, Endpoint: string(b), At: at.UTC(),
	}
	// The change is made: wait (bounded, retrying) until its record is
	// stored, and if that fails hand it to the buffered path, which retries
	// until JetStream stores it (waiting for room if it must); the same
	// record id keeps a double publish from counting twice.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := audit.StoreDurably(ctx, a.cfg.Audit, r); err != nil {
		a.log.Warn().Err(err).Str("endpoint_id", ep.ID).Msg("recording endpoint change; retrying in the background")
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer bcancel()
		if err := a.cfg.Audit.Record(bctx, r); err != nil {
			a.log.Error().Err(err).Str("endpoint_id", ep.ID).Str("change", change).Str("record_id", r.ID).Msg("endpoint change not recorded in the audit trail")
		}
	}
}
