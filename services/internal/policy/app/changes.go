package app

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
)

// The changes a policy_hook_changes row records.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// recordChange puts a hook change in the audit trail: the actor and the
// hook before and after it (nil: none), without secrets.
func (a *App) recordChange(change, actor string, before, after *hookrec.Entry) {
	r := audit.PolicyHookChange{ID: uuid.NewString(), Change: change, Actor: actor, At: a.now()}
	for _, side := range []struct {
		e   *hookrec.Entry
		dst *string
	}{{before, &r.Before}, {after, &r.After}} {
		if side.e == nil {
			continue
		}
		b, _ := json.Marshal(forAudit(*side.e))
		*side.dst = string(b)
		r.HookID, r.Command = side.e.Hook.ID, side.e.Hook.Command
	}
	// The change is made: wait (bounded, retrying) until its record is
	// stored, and if that fails hand it to the buffered path, which retries
	// until JetStream stores it; the same record id keeps a double publish
	// from counting twice.
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.AuditTimeout)
	defer cancel()
	if err := audit.StoreDurably(ctx, a.cfg.Audit, r); err != nil {
		a.log.Warn().Err(err).Str("hook_id", r.HookID).Msg("recording hook change; retrying in the background")
		bctx, bcancel := context.WithTimeout(context.Background(), a.cfg.AuditTimeout)
		defer bcancel()
		if err := a.cfg.Audit.Record(bctx, r); err != nil {
			a.log.Error().Err(err).Str("hook_id", r.HookID).Str("change", change).Str("record_id", r.ID).Msg("hook change not recorded in the audit trail")
		}
	}
}
