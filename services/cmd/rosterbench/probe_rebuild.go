package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership"
)

type rebuildOptions struct {
	Events         int // events in the stream (one per commit)
	EventsPerGroup int
}

type rebuildResult struct {
	Events, Commits          uint64
	Took, BaseTook, FillTook time.Duration
	BaseMsgs                 int
}

func (r rebuildResult) rate() float64     { return perSecond(int(r.Events), r.Took) }
func (r rebuildResult) baseRate() float64 { return perSecond(r.BaseMsgs, r.BaseTook) }

// runRebuildProbe fills ROSTER_EVENTS with o.Events events (groups of
// o.EventsPerGroup: a create with ten members, then single-user invites),
// reads the whole stream with a plain ordered consumer (the baseline), then
// runs membership.Rebuild into a fresh generation of the file-backed read
// model and times it.
func runRebuildProbe(ctx context.Context, o rebuildOptions, prof *profiler) (rebuildResult, error) {
	var res rebuildResult
	env, err := startNATS(false)
	if err != nil {
		return res, err
	}
	defer env.close()
	nc, js, err := connect(env.url(), "rosterbench-rebuild")
	if err != nil {
		return res, err
	}
	defer nc.Close()
	stream, err := eventstore.Provision(ctx, js, eventstore.StreamConfig{})
	if err != nil {
		return res, err
	}
	if err := fillStream(ctx, env.url(), o); err != nil {
		return res, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return res, err
	}
	progress("rebuild: stream holds %d commits (%d MiB)", info.State.Msgs, info.State.Bytes>>20)

	progress("rebuild: baseline, ordered-consumer read of the stream")
	t0 := time.Now()
	n, err := readAll(ctx, stream, info.State.Msgs)
	res.BaseTook, res.BaseMsgs = time.Since(t0), n
	if err != nil {
		return res, fmt.Errorf("baseline read: %w", err)
	}

	progress("rebuild: Roster, membership.Rebuild into a fresh generation")
	stopProf := prof.start("rebuild")
	t0 = time.Now()
	var lastTenth uint64
	r, err := membership.Rebuild(ctx, membership.RebuildConfig{
		JS: js, Log: benchLog().With().Str("component", "rebuild").Logger(),
		Progress: func(p membership.RebuildProgress) {
			if p.TargetSeq > 0 {
				if tenth := p.AppliedSeq * 10 / p.TargetSeq; tenth > lastTenth {
					lastTenth = tenth
					progress("rebuild: applied %d/%d commits", p.AppliedSeq, p.TargetSeq)
				}
			}
		},
	})
	res.Took = time.Since(t0)
	stopProf()
	if err != nil {
		return res, err
	}
	res.Events, res.Commits = r.Events, r.Commits
	if r.Events == 0 {
		return res, fmt.Errorf("rebuild applied no events")
	}
	return res, nil
}

// fillStream generates the probe's history on 2 connections in parallel
// (generation is CPU work; publishing is async).
func fillStream(ctx context.Context, url string, o rebuildOptions) error {
	groupsN := (o.Events + o.EventsPerGroup - 1) / o.EventsPerGroup
	t0 := time.Now()
	h := &history{at: time.Now().UTC()}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, js, err := connect(url, "rosterbench-fill")
			if err != nil {
				errs[w] = err
				return
			}
			defer nc.Close()
			for ctx.Err() == nil {
				g := int(next.Add(1)) - 1
				if g >= groupsN {
					return
				}
				n := min(o.EventsPerGroup, o.Events-g*o.EventsPerGroup)
				commits, err := h.group(fmt.Sprintf("rb-%06d", g), 10, n)
				if err == nil {
					err = appendAsync(ctx, js, commits)
				}
				if err != nil {
					errs[w] = err
					return
				}
				if step := groupsN / 5; step > 0 && (g+1)%step == 0 {
					progress("rebuild: filled %d/%d groups", g+1, groupsN)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("fill %s: %w", events.StreamName, err)
		}
	}
	progress("rebuild: filled in %s", time.Since(t0).Round(time.Millisecond))
	return ctx.Err()
}

// readAll reads n messages of the stream with an ordered consumer, the
// fastest plain read JetStream offers, touching each body once.
func readAll(ctx context.Context, stream jetstream.Stream, n uint64) (int, error) {
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	read := 0
	for uint64(read) < n {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return read, err
		}
		_ = m.Data()
		read++
	}
	return read, nil
}
