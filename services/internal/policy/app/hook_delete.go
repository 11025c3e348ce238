package app

import "context"

// DeleteHook handles roster.policy.hook.delete: the command it guarded
// runs without it once roster-groups' view sees the delete. The reply is
// the hook deleted (no secret).
func (a *App) DeleteHook(ctx context.Context, r IDRequest) (HookReply, error) {
	e, err := a.cfg.Hooks.Delete(ctx, r.ID)
	if err != nil {
		return HookReply{}, storeErr(err)
	}
	a.recordChange(ChangeDeleted, r.Actor, &e, nil)
	return HookReply{Hook: Redacted(e)}, nil
}
