package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// clusterOptions sizes the cluster probe. Its clients and groups are the
// command probe's (--clients, --groups), so the two probes' figures
// compare one server with three at the same concurrency.
type clusterOptions struct {
	Nodes           int
	Warmup          time.Duration
	Duration        time.Duration
	DispatchEvents  int
	DispatchTimeout time.Duration
}

// clusterKeys are the report fields one pass of the cluster probe fills
// (the default fsync policy, or sync_interval: always); nil pointers are
// keys the pass has no figure for.
type clusterKeys struct {
	cmd, cmdBase, cmdRatio, cmdP50, cmdP99 **float64
	disp, dispBase, dispRatio              **float64
}

// probeCluster runs the command and dispatch probes' own code on a
// loopback cluster of o.cluster.Nodes servers with every stream at
// R<Nodes> (how rosterd provisions with --replicas 3), beside their
// baselines on the same cluster: R3 OCC appends by the same clients, plain
// POSTs of the same bodies. Then all of it again with sync_interval:
// always on every node.
func probeCluster(ctx context.Context, o options, prof *profiler, rep *Report, tab *table) {
	passes := []struct {
		syncAlways bool
		title      string // table row prefix
		prefix     string // progress and profile label prefix
		keys       clusterKeys
	}{
		{false, "", "cluster-", clusterKeys{
			cmd: &rep.ClusterCmdPerS, cmdBase: &rep.ClusterCmdBaselinePerS, cmdRatio: &rep.ClusterCmdRatio,
			cmdP50: &rep.ClusterCmdP50Ms, cmdP99: &rep.ClusterCmdP99Ms,
			disp: &rep.ClusterDispatchPerS, dispBase: &rep.ClusterDispatchBaselinePerS, dispRatio: &rep.ClusterDispatchRatio,
		}},
		{true, ", sync_interval always", "cluster-sync-", clusterKeys{
			cmd: &rep.ClusterSyncCmdPerS, cmdBase: &rep.ClusterSyncCmdBaselinePerS, cmdRatio: &rep.ClusterSyncCmdRatio,
			cmdP99: &rep.ClusterSyncCmdP99Ms,
			disp:   &rep.ClusterSyncDispatchPerS, dispBase: &rep.ClusterSyncDispatchBaselinePerS, dispRatio: &rep.ClusterSyncDispatchRatio,
		}},
	}
	for _, p := range passes {
		if ctx.Err() != nil {
			return
		}
		clusterCmd(ctx, o, prof, tab, p.syncAlways, p.title, p.prefix, p.keys)
		clusterDispatch(ctx, o, prof, tab, p.syncAlways, p.title, p.prefix, p.keys)
	}
}

func clusterCmd(ctx context.Context, o options, prof *profiler, tab *table, syncAlways bool, title, prefix string, k clusterKeys) {
	probe := fmt.Sprintf("cluster commands (%d nodes, R%d)%s", o.cluster.Nodes, o.cluster.Nodes, title)
	co := o.cmd
	co.Nodes, co.SyncAlways, co.Floor = o.cluster.Nodes, syncAlways, false
	co.Warmup, co.Duration = o.cluster.Warmup, o.cluster.Duration
	progress("%scmd: %d-node cluster, sync_interval always %v", prefix, o.cluster.Nodes, syncAlways)
	r, err := runCmdProbe(ctx, co, prof, prefix+"cmd")
	if err != nil {
		progress("%scmd: %v", prefix, err)
		tab.missing(probe, "-", "failed: "+firstLine(err))
		return
	}
	*k.cmd = num(r.Roster.rate())
	*k.cmdBase = num(r.Baseline.rate())
	*k.cmdRatio = ratio(*k.cmd, *k.cmdBase)
	if k.cmdP50 != nil {
		*k.cmdP50 = num(ms(r.Lat.P50))
	}
	*k.cmdP99 = num(ms(r.Lat.P99))
	note := fmt.Sprintf("%d clients spread over the nodes, %d groups, %d-byte commits, R%d file store, %s measured; roster-groups on n1, ROSTER_EVENTS led by %s; baseline: R%d OCC appends, same clients and size, BENCH_BASELINE led by %s",
		co.Clients, co.Groups, r.Payload, o.cluster.Nodes, co.Duration, leaderOf("ROSTER_EVENTS"), o.cluster.Nodes, leaderOf("BENCH_BASELINE"))
	if syncAlways {
		note = fmt.Sprintf("p50/p99 %s / %s (baseline %s / %s); ", fmtMs(ms(r.Lat.P50)), fmtMs(ms(r.Lat.P99)), fmtMs(ms(r.BaseLat.P50)), fmtMs(ms(r.BaseLat.P99))) + note
	}
	if r.Roster.Errors > 0 || r.Baseline.Errors > 0 {
		note += fmt.Sprintf("; errors: Roster %d, baseline %d (first: %s)", r.Roster.Errors, r.Baseline.Errors, firstLine(errors.Join(r.Roster.Err, r.Baseline.Err)))
	}
	tab.add(row{Probe: probe, Figure: fmtRate(r.Roster.rate(), "cmd"), Baseline: fmtRate(r.Baseline.rate(), "append"),
		Ratio: fmtRatio(*k.cmdRatio), Note: note})
	if !syncAlways {
		tab.add(row{Probe: "  cluster command latency p50 / p99", Figure: fmtMs(ms(r.Lat.P50)) + " / " + fmtMs(ms(r.Lat.P99)),
			Baseline: fmtMs(ms(r.BaseLat.P50)) + " / " + fmtMs(ms(r.BaseLat.P99)), Note: "per request, at the concurrency above"})
	}
}

func clusterDispatch(ctx context.Context, o options, prof *profiler, tab *table, syncAlways bool, title, prefix string, k clusterKeys) {
	probe := fmt.Sprintf("cluster dispatch (%d nodes, R%d)%s", o.cluster.Nodes, o.cluster.Nodes, title)
	do := o.dispatch
	do.Events, do.Timeout = o.cluster.DispatchEvents, o.cluster.DispatchTimeout
	do.Nodes, do.SyncAlways, do.HealthyOnly = o.cluster.Nodes, syncAlways, true
	progress("%sdispatch: %d-node cluster, sync_interval always %v", prefix, o.cluster.Nodes, syncAlways)
	r, err := runDispatchProbe(ctx, do, prof.with(prefix))
	if err != nil {
		progress("%sdispatch: %v", prefix, err)
		tab.missing(probe, "-", "failed: "+firstLine(err))
		return
	}
	*k.disp = num(r.Healthy)
	*k.dispBase = num(r.Baseline)
	*k.dispRatio = ratio(*k.disp, *k.dispBase)
	note := fmt.Sprintf("the real dispatcher on n1 (ROSTER_EVENTS led by %s, its delivery jobs by %s), one loopback endpoint; %d events appended -> delivered, from first append to last delivery; bodies %d B; baseline: plain POSTs of the same bodies, concurrency %d",
		leaderOf("ROSTER_EVENTS"), leaderOf("ROSTER_WEBHOOK_DELIVERIES"), do.Events, r.BodyBytes, r.Concurrency)
	if !r.HealthyDone {
		note += fmt.Sprintf("; INCOMPLETE: %d of %d arrived within %s", r.HealthyN, do.Events, do.Timeout)
	}
	tab.add(row{Probe: probe, Figure: fmtRate(r.Healthy, "delivery"), Baseline: fmtRate(r.Baseline, "POST"),
		Ratio: fmtRatio(*k.dispRatio), Note: note})
}
