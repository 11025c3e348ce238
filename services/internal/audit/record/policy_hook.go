package record

import "time"

// KindPolicyHookChange: roster-policy created, changed or deleted a
// policy hook (table policy_hook_changes).
const KindPolicyHookChange Kind = "policy_hook_change"

// PolicyHookChange: a policy hook was created, updated or deleted through
// roster-policy. Before and After are the hook as JSON (its secret only as
// "has_secret", its URL without query or user info); "" when there is
// none (before a create, after a delete).
type PolicyHookChange struct {
	ID      string    `json:"id"`
	HookID  string    `json:"hook_id"`
	Change  string    `json:"change"` // created | updated | deleted
	Actor   string    `json:"actor"`
	Command string    `json:"command"` // the Roster command the hook guards
	Before  string    `json:"before"`
	After   string    `json:"after"`
	At      time.Time `json:"at"`
}

func (r PolicyHookChange) AuditKind() Kind { return KindPolicyHookChange }
func (r PolicyHookChange) AuditID() string { return r.ID }
