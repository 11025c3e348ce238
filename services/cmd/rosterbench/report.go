package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Report holds the figures scripts/bench prints as its last line. The JSON
// keys are a public contract (issue 6); a probe whose component is missing
// or that failed leaves its keys null, never a made-up number.
type Report struct {
	CmdPerS         *float64 `json:"cmd_per_s"`
	CmdBaselinePerS *float64 `json:"cmd_baseline_per_s"`
	CmdRatio        *float64 `json:"cmd_ratio"`
	CmdP50Ms        *float64 `json:"cmd_p50_ms"`
	CmdP99Ms        *float64 `json:"cmd_p99_ms"`
	// The two-hop floors (issue 14): request/reply to a trivial responder
	// doing one serial OCC append per request, and to one pipelining its
	// appends; the ratios are Roster's rate over each.
	CmdFloorPerS       *float64 `json:"cmd_floor_per_s"`
	CmdFloorAsyncPerS  *float64 `json:"cmd_floor_async_per_s"`
	CmdFloorRatio      *float64 `json:"cmd_floor_ratio"`
	CmdFloorAsyncRatio *float64 `json:"cmd_floor_async_ratio"`

	BiggroupColdMs    *float64 `json:"biggroup_cold_ms"`
	BiggroupWarmP99Ms *float64 `json:"biggroup_warm_p99_ms"`

	RebuildPerS         *float64 `json:"rebuild_per_s"`
	RebuildBaselinePerS *float64 `json:"rebuild_baseline_per_s"`
	RebuildRatio        *float64 `json:"rebuild_ratio"`
	// RebuildKVBaselinePerS is the KV put ceiling in events/s: the
	// rebuild's events over the time raw async KV puts of what it stored
	// (same count, same mean sizes) took. RebuildKVRatio is
	// rebuild_per_s over it.
	RebuildKVBaselinePerS *float64 `json:"rebuild_kv_baseline_per_s"`
	RebuildKVRatio        *float64 `json:"rebuild_kv_ratio"`

	DispatchPerS            *float64 `json:"dispatch_per_s"`
	DispatchWithHangingPerS *float64 `json:"dispatch_with_hanging_per_s"`
	DispatchBaselinePerS    *float64 `json:"dispatch_baseline_per_s"`
	DispatchRatio           *float64 `json:"dispatch_ratio"`
	// DispatchCatchupPerS: deliveries/s of a backlog held while no
	// dispatcher ran, from a fresh dispatcher's start to the last delivery
	// (producing the events is outside the timing, as producing the bodies
	// is outside the baseline's). DispatchCatchupRatio is it over
	// dispatch_baseline_per_s.
	DispatchCatchupPerS  *float64 `json:"dispatch_catchup_per_s"`
	DispatchCatchupRatio *float64 `json:"dispatch_catchup_ratio"`

	AuditPerS         *float64 `json:"audit_per_s"`
	AuditBaselinePerS *float64 `json:"audit_baseline_per_s"`
	AuditRatio        *float64 `json:"audit_ratio"`

	E2EP50Ms *float64 `json:"e2e_p50_ms"`
	E2EP99Ms *float64 `json:"e2e_p99_ms"`

	RSSMB *float64 `json:"rss_mb"`

	// The cluster probe (issue 14): 3 loopback nodes, R3 streams; then the
	// same under sync_interval: always.
	ClusterCmdPerS                  *float64 `json:"cluster_cmd_per_s"`
	ClusterCmdBaselinePerS          *float64 `json:"cluster_cmd_baseline_per_s"`
	ClusterCmdRatio                 *float64 `json:"cluster_cmd_ratio"`
	ClusterCmdP50Ms                 *float64 `json:"cluster_cmd_p50_ms"`
	ClusterCmdP99Ms                 *float64 `json:"cluster_cmd_p99_ms"`
	ClusterDispatchPerS             *float64 `json:"cluster_dispatch_per_s"`
	ClusterDispatchBaselinePerS     *float64 `json:"cluster_dispatch_baseline_per_s"`
	ClusterDispatchRatio            *float64 `json:"cluster_dispatch_ratio"`
	ClusterSyncCmdPerS              *float64 `json:"cluster_sync_cmd_per_s"`
	ClusterSyncCmdBaselinePerS      *float64 `json:"cluster_sync_cmd_baseline_per_s"`
	ClusterSyncCmdRatio             *float64 `json:"cluster_sync_cmd_ratio"`
	ClusterSyncCmdP99Ms             *float64 `json:"cluster_sync_cmd_p99_ms"`
	ClusterSyncDispatchPerS         *float64 `json:"cluster_sync_dispatch_per_s"`
	ClusterSyncDispatchBaselinePerS *float64 `json:"cluster_sync_dispatch_baseline_per_s"`
	ClusterSyncDispatchRatio        *float64 `json:"cluster_sync_dispatch_ratio"`
}

// num returns a pointer to v rounded for printing; NaN and Inf become nil
// (JSON has no such numbers, and they are never a measurement).
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	r := math.Round(v*1000) / 1000
	return &r
}

// positive is num(v) for a measured rate, nil for none (a probe part that
// failed or completed nothing has no rate, not a rate of 0).
func positive(v float64) *float64 {
	if v <= 0 {
		return nil
	}
	return num(v)
}

// ratio is figure/baseline, nil when either is missing or the baseline is 0.
func ratio(figure, baseline *float64) *float64 {
	if figure == nil || baseline == nil || *baseline == 0 {
		return nil
	}
	return num(*figure / *baseline)
}

// row is one line of the readable table.
type row struct {
	Probe    string
	Figure   string
	Baseline string
	Ratio    string
	Target   string
	Note     string
}

// table collects the rows probes add, in order.
type table struct{ rows []row }

func (t *table) add(r row) { t.rows = append(t.rows, r) }

// missing records a probe that produced no figure, and why.
func (t *table) missing(probe, target, why string) {
	t.add(row{Probe: probe, Figure: "null", Baseline: "-", Ratio: "-", Target: target, Note: why})
}

func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "probe\tRoster\tbaseline (same run)\tratio\ttarget\tnote")
	fmt.Fprintln(tw, "-----\t------\t-------------------\t-----\t------\t----")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Probe, dash(r.Figure), dash(r.Baseline), dash(r.Ratio), dash(r.Target), r.Note)
	}
	return tw.Flush()
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// fmtRate prints an operations-per-second figure.
func fmtRate(v float64, unit string) string { return fmt.Sprintf("%.0f %s/s", v, unit) }

func fmtRatio(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *r)
}

func fmtMs(v float64) string { return fmt.Sprintf("%.2f ms", v) }

// writeJSON prints the report as one line.
func (r *Report) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
