package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o options) {
			if o.cmd.Clients != 32 || o.big.Members != 100_000 || o.rebuild.Events != 1_000_000 || o.e2e.Rate != 1000 {
				t.Errorf("want the issue's sizes, have %+v", o)
			}
			if !o.wants("cluster") || o.cluster.Nodes != 3 || o.cluster.Duration != 10*time.Second || o.cluster.DispatchEvents != 5000 {
				t.Errorf("want the cluster probe by default on 3 nodes, 10s measured, 5000 events, have %+v", o.cluster)
			}
		}},
		{name: "smoke shrinks every probe", args: []string{"--smoke"}, check: func(t *testing.T, o options) {
			if o.cmd.Duration != time.Second || o.big.Members != 3000 || o.mem.Groups != 300 || o.rebuild.Events != 2000 || o.audit.Rows != 2000 {
				t.Errorf("want smoke sizes, have %+v", o)
			}
			if o.cluster.Duration != time.Second || o.cluster.Warmup != 200*time.Millisecond || o.cluster.DispatchEvents != 200 {
				t.Errorf("want cluster smoke sizes, have %+v", o.cluster)
			}
		}},
		{name: "smoke keeps an explicit size", args: []string{"--smoke", "--big-members", "5000"}, check: func(t *testing.T, o options) {
			if o.big.Members != 5000 {
				t.Errorf("want 5000, have %d", o.big.Members)
			}
		}},
		{name: "unknown probe", args: []string{"--probes", "cmd,nope"}, wantErr: `unknown probe "nope"`},
		{name: "fewer groups than clients", args: []string{"--clients", "8", "--groups", "4"}, wantErr: "--groups >= --clients"},
		{name: "cluster without measured time", args: []string{"--cluster-duration", "0s"}, wantErr: "--cluster-duration"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, have %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    float64
		wantErr bool
	}{
		{name: "kB", status: "Name:\tx\nVmRSS:\t  20480 kB\nThreads: 3\n", want: 20},
		{name: "missing", status: "Name:\tx\n", wantErr: true},
		{name: "odd unit", status: "VmRSS:\t1 MB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, err := parseVmRSS([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("want error %v, have %v", tt.wantErr, err)
			}
			if have != tt.want {
				t.Errorf("want %v, have %v", tt.want, have)
			}
		})
	}
}
