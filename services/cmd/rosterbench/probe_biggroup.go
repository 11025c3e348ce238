package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/groups"
)

type bigOptions struct {
	Members  int // members of the large group, owner included
	ColdRuns int // fresh processes, one cold invite each
	WarmOps  int // invites/removes timed in the last process once warm
}

type bigResult struct {
	Cold      []time.Duration // one per fresh process
	ColdMed   time.Duration
	Warm      summary
	Build     time.Duration
	SnapBytes uint64 // size of the snapshot the cold loads read
}

// runBigGroupProbe builds a group of o.Members members (invites of
// group.MaxBatchUsers users each) with an in-process roster-groups, stops it
// so its last snapshot is written, then starts fresh roster-groups
// processes: the first invite each one handles is the cold figure (snapshot
// read + tail + decide + append), the following ones on the last process
// give the warm latencies. Requests travel over NATS like a client's.
func runBigGroupProbe(ctx context.Context, o bigOptions, prof *profiler) (bigResult, error) {
	var res bigResult
	env, err := startNATS(false)
	if err != nil {
		return res, err
	}
	defer env.close()
	stop, err := runGroups(ctx, env.url(), nil)
	if err != nil {
		return res, err
	}
	pool, err := newConnPool(env.url(), 1)
	if err != nil {
		_ = stop()
		return res, err
	}
	defer pool.close()
	nc := pool.ncs[0]
	const gid = "big"
	t0 := time.Now()
	if err := createGroups(ctx, pool, 1, func(int) string { return gid }, func(int) []string { return nil }, "biggroup"); err != nil {
		_ = stop()
		return res, err
	}
	for have := 1; have < o.Members; {
		n := min(group.MaxBatchUsers, o.Members-have)
		cctx, cancel := timeoutCtx(ctx, 60*time.Second)
		_, err := command(cctx, nc, "member.invite", usersReq{GroupID: gid, Actor: owner, UserIDs: users("m", have, n)})
		cancel()
		if err != nil {
			_ = stop()
			return res, fmt.Errorf("build the large group: %w", err)
		}
		have += n
		if have%(o.Members/5+1) < n {
			progress("biggroup: %d/%d members", have, o.Members)
		}
	}
	// Stopping waits for background snapshot writes.
	if err := stop(); err != nil {
		return res, err
	}
	res.Build = time.Since(t0)
	if snaps, err := pool.jss[0].ObjectStore(ctx, groups.SnapshotBucket); err == nil {
		if info, err := snaps.GetInfo(ctx, gid); err == nil {
			res.SnapBytes = info.Size
		}
	}

	for run := range o.ColdRuns {
		args := []string{"groups", "--nats", env.url()}
		if prof != nil && prof.dir != "" {
			args = append(args, "--profile", filepath.Join(prof.dir, fmt.Sprintf("biggroup-process-%d.cpu.pprof", run)))
		}
		ch, err := spawn(ctx, args...)
		if err != nil {
			return res, err
		}
		cctx, cancel := timeoutCtx(ctx, 60*time.Second)
		t := time.Now()
		_, err = command(cctx, nc, "member.invite", usersReq{GroupID: gid, Actor: owner, UserIDs: []string{fmt.Sprintf("cold-%d", run)}})
		cold := time.Since(t)
		cancel()
		if err != nil {
			_ = ch.stop()
			return res, fmt.Errorf("cold invite: %w", err)
		}
		res.Cold = append(res.Cold, cold)
		if run == o.ColdRuns-1 {
			lat := make([]time.Duration, 0, o.WarmOps)
			for i := range o.WarmOps {
				verb, u := "member.invite", fmt.Sprintf("warm-%d", i/2)
				if i%2 == 1 {
					verb = "member.remove"
				}
				cctx, cancel := timeoutCtx(ctx, 10*time.Second)
				t := time.Now()
				_, err := command(cctx, nc, verb, usersReq{GroupID: gid, Actor: owner, UserIDs: []string{u}})
				lat = append(lat, time.Since(t))
				cancel()
				if err != nil {
					_ = ch.stop()
					return res, fmt.Errorf("warm %s: %w", verb, err)
				}
			}
			res.Warm = summarize(lat)
		}
		if err := ch.stop(); err != nil {
			return res, fmt.Errorf("stop roster-groups process: %w", err)
		}
	}
	sorted := slices.Clone(res.Cold)
	slices.Sort(sorted)
	res.ColdMed = percentile(sorted, 50)
	return res, nil
}
