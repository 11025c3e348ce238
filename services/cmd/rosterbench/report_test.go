package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The keys of the last line are a public contract (issue 6): exactly these.
var contractKeys = []string{
	"cmd_per_s", "cmd_baseline_per_s", "cmd_ratio", "cmd_p50_ms", "cmd_p99_ms",
	"cmd_floor_per_s", "cmd_floor_async_per_s", "cmd_floor_ratio", "cmd_floor_async_ratio",
	"biggroup_cold_ms", "biggroup_warm_p99_ms",
	"rebuild_per_s", "rebuild_baseline_per_s", "rebuild_ratio", "rebuild_kv_baseline_per_s", "rebuild_kv_ratio",
	"dispatch_per_s", "dispatch_with_hanging_per_s", "dispatch_baseline_per_s", "dispatch_ratio",
	"dispatch_catchup_per_s", "dispatch_catchup_ratio",
	"audit_per_s", "audit_baseline_per_s", "audit_ratio",
	"e2e_p50_ms", "e2e_p99_ms",
	"rss_mb",
	"cluster_cmd_per_s", "cluster_cmd_baseline_per_s", "cluster_cmd_ratio", "cluster_cmd_p50_ms", "cluster_cmd_p99_ms",
	"cluster_dispatch_per_s", "cluster_dispatch_baseline_per_s", "cluster_dispatch_ratio",
	"cluster_sync_cmd_per_s", "cluster_sync_cmd_baseline_per_s", "cluster_sync_cmd_ratio", "cluster_sync_cmd_p99_ms",
	"cluster_sync_dispatch_per_s", "cluster_sync_dispatch_baseline_per_s", "cluster_sync_dispatch_ratio",
}

func TestReportJSONHasExactlyTheContractKeys(t *testing.T) {
	var buf bytes.Buffer
	r := Report{CmdPerS: num(1234.5)}
	if err := r.writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("want one line, have %d newlines: %q", n, buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	var have []string
	for k := range m {
		have = append(have, k)
	}
	want := slices.Clone(contractKeys)
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		t.Errorf("want keys %v, have %v", want, have)
	}
	if m["cmd_per_s"] != 1234.5 {
		t.Errorf("want cmd_per_s 1234.5, have %v", m["cmd_per_s"])
	}
	if m["rss_mb"] != nil {
		t.Errorf("want a missing figure to be null, have %v", m["rss_mb"])
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name             string
		figure, baseline *float64
		want             *float64
	}{
		{name: "both", figure: num(50), baseline: num(200), want: num(0.25)},
		{name: "no figure", figure: nil, baseline: num(200), want: nil},
		{name: "no baseline", figure: num(50), baseline: nil, want: nil},
		{name: "zero baseline", figure: num(50), baseline: num(0), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := ratio(tt.figure, tt.baseline)
			if (have == nil) != (tt.want == nil) || (have != nil && *have != *tt.want) {
				t.Errorf("want %v, have %v", fmtRatio(tt.want), fmtRatio(have))
			}
		})
	}
}
