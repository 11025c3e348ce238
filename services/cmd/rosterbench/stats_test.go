package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "one sample", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "median of 100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 100 is the 99th", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "p99 of 10 is the max", sorted: hundred[:10], p: 99, want: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if have := percentile(tt.sorted, tt.p); have != tt.want {
				t.Errorf("want %v, have %v", tt.want, have)
			}
		})
	}
}

func TestSummarizeSorts(t *testing.T) {
	s := summarize([]time.Duration{5, 1, 4, 2, 3})
	if s.N != 5 || s.P50 != 3 || s.Max != 5 || s.P99 != 5 {
		t.Errorf("want n=5 p50=3 p99=5 max=5, have %+v", s)
	}
}
