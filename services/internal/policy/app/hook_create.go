package app

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// CreateHook handles roster.policy.hook.create: the hook guards its
// command from the moment roster-groups' view sees it (a KV watch,
// milliseconds); the reply shows a standard hook's secret, the one time it
// is shown.
func (a *App) CreateHook(ctx context.Context, r CreateRequest) (HookReply, error) {
	now := a.now()
	if r.ID == "" {
		r.ID = "hk_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	timeout := hook.DefaultTimeout
	if r.Timeout != nil {
		timeout = time.Duration(*r.Timeout)
	}
	h := hook.Hook{
		ID: r.ID, Command: r.Command, Callback: r.Callback, URL: r.URL, Format: r.Format,
		Timeout: timeout, OnFailure: r.OnFailure, CreatedAt: now, UpdatedAt: now,
	}
	secret := ""
	if r.Format == hook.FormatStandard {
		secret = r.Secret
		if secret == "" {
			s, err := delivery.GenerateSecret()
			if err != nil {
				return HookReply{}, err
			}
			secret = s
		}
		h.Secrets = []string{secret}
	} else if r.Secret != "" {
		h.Secrets = []string{r.Secret} // refused by validate, with its reason
	}
	if err := validate(h); err != nil {
		return HookReply{}, err
	}
	if err := a.cfg.Guard.CheckURL(ctx, h.URL); err != nil {
		return HookReply{}, invalid(err)
	}
	e := hookrec.Entry{Hook: h, CreatedBy: r.Actor, UpdatedBy: r.Actor}
	if _, err := a.cfg.Hooks.Create(ctx, e); err != nil {
		return HookReply{}, storeErr(err)
	}
	a.recordChange(ChangeCreated, r.Actor, nil, &e)
	return HookReply{Hook: Redacted(e), Secret: secret}, nil
}
