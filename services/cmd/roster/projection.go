package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rosterhq/roster/services/internal/membership"
)

// roster projection rebuild: refill the read model from the first event
// into a fresh generation and switch queries to it when it has caught up.
func newProjectionCmd(g *globals) *cobra.Command {
	p := &cobra.Command{Use: "projection", Short: "Manage the membership projection"}
	p.AddCommand(newProjectionRebuild(g))
	return p
}

func newProjectionRebuild(g *globals) *cobra.Command {
	var (
		force, dropOld bool
		batch          int
	)
	c := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the membership read model from the first event into a fresh generation, then switch queries to it",
		Long: `Replays ROSTER_EVENTS from its first commit into a new generation of the read
model (KV bucket ROSTER_MEMBERS_v<N+1>). Queries keep answering from the current
generation meanwhile; when the new one has caught up, the active pointer is
switched atomically and the running projector continues the new generation.
Shows a progress bar on a terminal, plain progress lines otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			nc, err := g.conn()
			if err != nil {
				return err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			rep := newRebuildReporter(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
			res, err := membership.Rebuild(c.Context(), membership.RebuildConfig{
				JS: js, Log: zerolog.Nop(), Force: force, DropOld: dropOld, BatchSize: batch,
				Progress: rep.progress,
			})
			rep.finish()
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			rate := float64(res.Commits) / max(res.Took.Seconds(), 0.001)
			fmt.Fprintf(g.out, "rebuilt generation %d from %d commits (%d events) in %s (%.0f commits/s); queries switched from generation %d\n",
				res.To.Number, res.Commits, res.Events, res.Took.Round(time.Millisecond), rate, res.From.Number)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "take the rebuild lock even if held (a previous rebuild died)")
	c.Flags().BoolVar(&dropOld, "drop-old", false, "delete the previous generation once queries have switched (default: keep it for rollback)")
	c.Flags().IntVar(&batch, "batch", 0, "commits folded per write (default 500)")
	return c
}

// rebuildReporter shows progress in stream sequences: a bar with rate and
// ETA on a terminal, a line every few seconds otherwise (logs, CI).
type rebuildReporter struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	started time.Time
	last    time.Time
}

func newRebuildReporter(w io.Writer, tty bool) *rebuildReporter {
	r := &rebuildReporter{w: w, started: time.Now()}
	if tty {
		r.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("rebuild"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("commits"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	return r
}

func (r *rebuildReporter) progress(p membership.RebuildProgress) {
	if r.bar != nil {
		if r.bar.GetMax64() != int64(p.TargetSeq) {
			r.bar.ChangeMax64(int64(max(p.TargetSeq, 1)))
			r.bar.Describe(fmt.Sprintf("rebuild generation %d", p.Generation))
		}
		_ = r.bar.Set64(int64(p.AppliedSeq))
		return
	}
	now := time.Now()
	if now.Sub(r.last) < 2*time.Second && p.AppliedSeq < p.TargetSeq {
		return
	}
	r.last = now
	pct := 100.0
	if p.TargetSeq > 0 {
		pct = 100 * float64(p.AppliedSeq) / float64(p.TargetSeq)
	}
	rate := float64(p.Commits) / max(now.Sub(r.started).Seconds(), 0.001)
	eta := "-"
	if rate > 0 && p.TargetSeq > p.AppliedSeq {
		eta = (time.Duration(float64(p.TargetSeq-p.AppliedSeq)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(r.w, "rebuild generation %d: seq %d/%d (%.1f%%), %d events, %.0f commits/s, eta %s\n",
		p.Generation, p.AppliedSeq, p.TargetSeq, pct, p.Events, rate, eta)
}

func (r *rebuildReporter) finish() {
	if r.bar != nil {
		_ = r.bar.Finish()
		fmt.Fprintln(r.w)
	}
}
