package app

import "context"

// write stores what a batch changed through the read model port: first
// the touched member and index records of every group, then each group's
// info record (the commit point, with a CAS). A crash in between leaves the
// info records behind, so the redelivered commits are folded again.
func (r *Fold) write(ctx context.Context, order []string, dirty map[string]map[string]bool) error {
	ws := make([]*GroupWrite, 0, len(order))
	for _, g := range order {
		touched := dirty[g]
		if touched == nil {
			continue
		}
		h := r.cache.get(g)
		ws = append(ws, &GroupWrite{State: h.state, Touched: touched, AppliedSeq: h.appliedSeq, FirstSeq: h.firstSeq, InfoRev: h.infoRev})
	}
	if err := r.cfg.Model.WriteMembers(ctx, ws); err != nil {
		return err
	}
	if err := r.crashAt("members-written"); err != nil {
		return err
	}
	err := r.cfg.Model.WriteInfos(ctx, ws)
	for _, w := range ws {
		if h := r.cache.get(w.State.ID); h != nil && w.InfoRev != h.infoRev {
			h.infoRev = w.InfoRev
		}
	}
	if err != nil {
		return err
	}
	return r.crashAt("info-written")
}

func (r *Fold) crashAt(stage string) error {
	if r.cfg.CrashAt == nil {
		return nil
	}
	if err := r.cfg.CrashAt(stage); err != nil {
		return &CrashError{Stage: stage}
	}
	return nil
}
