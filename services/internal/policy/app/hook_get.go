package app

import "context"

// GetHook handles roster.policy.hook.get (whether the hook has a secret,
// never its value).
func (a *App) GetHook(ctx context.Context, r IDRequest) (HookReply, error) {
	e, _, err := a.cfg.Hooks.Get(ctx, r.ID)
	if err != nil {
		return HookReply{}, storeErr(err)
	}
	return HookReply{Hook: Redacted(e)}, nil
}
