package app

import "context"

// ListHooks handles roster.policy.hook.list: every hook, or those of one
// command, in the order roster-groups calls them (creation order); secret
// values removed.
func (a *App) ListHooks(ctx context.Context, r ListRequest) (ListReply, error) {
	es, err := a.cfg.Hooks.List(ctx)
	if err != nil {
		return ListReply{}, storeErr(err)
	}
	out := ListReply{Hooks: make([]Hook, 0, len(es))}
	for _, e := range es {
		if r.Command == "" || e.Hook.Command == r.Command {
			out.Hooks = append(out.Hooks, Redacted(e))
		}
	}
	return out, nil
}
