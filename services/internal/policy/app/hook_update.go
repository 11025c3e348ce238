package app

import (
	"context"
	"time"

	"github.com/rosterhq/roster/services/internal/policy/hookrec"
)

// UpdateHook handles roster.policy.hook.update: only the given fields
// change, and the hook must stay valid. A new URL passes the SSRF guard
// before anything is written. The reply never shows the secret.
func (a *App) UpdateHook(ctx context.Context, r UpdateRequest) (HookReply, error) {
	if r.URL != nil {
		if err := a.cfg.Guard.CheckURL(ctx, *r.URL); err != nil {
			return HookReply{}, invalid(err)
		}
	}
	now := a.now()
	var before hookrec.Entry
	e, _, changed, err := a.cfg.Hooks.Update(ctx, r.ID, func(e *hookrec.Entry) error {
		before = e.Clone()
		h := &e.Hook
		set(&h.URL, r.URL)
		set(&h.Callback, r.Callback)
		set(&h.OnFailure, r.OnFailure)
		if r.Timeout != nil {
			h.Timeout = time.Duration(*r.Timeout)
		}
		if r.Secret != nil {
			h.Secrets = []string{*r.Secret}
		}
		if same(before, *e) {
			return hookrec.ErrNoChange
		}
		h.UpdatedAt, e.UpdatedBy = now, r.Actor
		return validate(*h)
	})
	if err != nil {
		return HookReply{}, storeErr(err)
	}
	if changed {
		a.recordChange(ChangeUpdated, r.Actor, &before, &e)
	}
	return HookReply{Hook: Redacted(e)}, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// same reports whether an update left every configurable field as it was
// (an update that changes nothing writes nothing and is not audited).
func same(a, b hookrec.Entry) bool {
	x, y := a.Hook, b.Hook
	if x.URL != y.URL || x.Callback != y.Callback || x.OnFailure != y.OnFailure || x.Timeout != y.Timeout || len(x.Secrets) != len(y.Secrets) {
		return false
	}
	for i := range x.Secrets {
		if x.Secrets[i] != y.Secrets[i] {
			return false
		}
	}
	return true
}
