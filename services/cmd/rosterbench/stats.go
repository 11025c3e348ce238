package main

import (
	"slices"
	"time"
)

// summary describes a set of latencies.
type summary struct {
	N             int
	P50, P99, Max time.Duration
}

// summarize sorts lat in place and returns its percentiles. Percentiles use
// the nearest-rank method: p99 of 100 samples is the 99th smallest, so a
// single slow sample among 100 does not hide.
func summarize(lat []time.Duration) summary {
	if len(lat) == 0 {
		return summary{}
	}
	slices.Sort(lat)
	return summary{N: len(lat), P50: percentile(lat, 50), P99: percentile(lat, 99), Max: lat[len(lat)-1]}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perSecond is n operations over d as a rate.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
