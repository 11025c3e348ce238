package membership

import (
	"context"

	"github.com/rosterhq/roster/services/internal/membership/app"
)

// write stores what a batch changed through the read model port: first
// the touched member and index records of every group, then each group's
// info record (the commit point, with a CAS). A crash in between leaves the
// info records behind, so the redelivered commits are folded again.
func (r *genRunner) write(ctx context.Context, order []string, dirty map[string]map[string]bool) error {
	ws := make([]*app.GroupWrite, 0, len(order))
	for _, g := range order {
		touched := dirty[g]
		if touched == nil {
			continue
		}
		h := r.cache.get(g)
		ws = append(ws, &app.GroupWrite{State: h.state, Touched: touched, AppliedSeq: h.appliedSeq, FirstSeq: h.firstSeq, InfoRev: h.infoRev})
	}
	if err := r.m.WriteMembers(ctx, ws); err != nil {
		return err
	}
	if err := r.crashAt("members-written"); err != nil {
		return err
	}
	err := r.m.WriteInfos(ctx, ws)
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

func (r *genRunner) crashAt(stage string) error {
	if r.p.cfg.crashAt == nil {
		return nil
	}
	if err := r.p.cfg.crashAt(stage); err != nil {
		return &crashError{stage: stage}
	}
	return nil
}
