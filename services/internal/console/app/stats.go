package app

import (
	"math"
	"slices"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Stats are an endpoint's delivery figures over a window, computed from its
// attempt rows (every HTTP request is a row; tests included, as they are
// requests the receiver answered).
type Stats struct {
	Attempts  int
	Successes int
	// P99 is the 99th percentile of the attempts' latency (nearest rank).
	P99 time.Duration
	// LastFailureClass and LastFailureAt are the latest failed attempt's.
	LastFailureClass string
	LastFailureAt    time.Time
	// Capped: the window held more rows than one query returns, so the
	// figures cover only its oldest TrailCap attempts.
	Capped bool
}

// SuccessRate is Successes/Attempts in percent; -1 without attempts.
func (s Stats) SuccessRate() float64 {
	if s.Attempts == 0 {
		return -1
	}
	return 100 * float64(s.Successes) / float64(s.Attempts)
}

// ComputeStats folds attempt rows into Stats.
func ComputeStats(rows []record.DeliveryAttempt) Stats {
	var s Stats
	lat := make([]int64, 0, len(rows))
	for _, r := range rows {
		s.Attempts++
		if r.Success {
			s.Successes++
		} else if !r.StartedAt.Before(s.LastFailureAt) {
			s.LastFailureClass, s.LastFailureAt = r.FailureClass, r.StartedAt
		}
		lat = append(lat, r.LatencyUS)
	}
	s.P99 = time.Duration(percentile(lat, 0.99)) * time.Microsecond
	s.Capped = len(rows) >= TrailCap
	return s
}

// percentile is the nearest-rank percentile of vs (0 when empty); it sorts
// vs.
func percentile(vs []int64, p float64) int64 {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	rank := int(math.Ceil(p*float64(len(vs)))) - 1
	return vs[max(rank, 0)]
}

// Series is attempts and failures per bucket of time, for the endpoint
// chart: Times are the buckets' starts in Unix seconds.
type Series struct {
	Times    []int64 `json:"times"`
	Attempts []int   `json:"attempts"`
	Failures []int   `json:"failures"`
}

// ComputeSeries buckets rows by bucket from since to until.
func ComputeSeries(rows []record.DeliveryAttempt, since, until time.Time, bucket time.Duration) Series {
	start := since.Truncate(bucket)
	n := int(until.Sub(start)/bucket) + 1
	s := Series{Times: make([]int64, n), Attempts: make([]int, n), Failures: make([]int, n)}
	for i := range n {
		s.Times[i] = start.Add(time.Duration(i) * bucket).Unix()
	}
	for _, r := range rows {
		i := int(r.StartedAt.Sub(start) / bucket)
		if i < 0 || i >= n {
			continue
		}
		s.Attempts[i]++
		if !r.Success {
			s.Failures[i]++
		}
	}
	return s
}

// Histogram counts attempt latencies in the buckets whose upper bounds are
// Bounds (milliseconds; the last bucket is everything above the last bound).
type Histogram struct {
	Bounds []float64 `json:"bounds_ms"`
	Counts []int     `json:"counts"`
}

// latencyBounds are the histogram's upper bounds in milliseconds: roughly
// logarithmic, from a loopback answer to a receiver at its timeout.
var latencyBounds = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 15000}

// ComputeHistogram buckets rows' latencies.
func ComputeHistogram(rows []record.DeliveryAttempt) Histogram {
	h := Histogram{Bounds: latencyBounds, Counts: make([]int, len(latencyBounds)+1)}
	for _, r := range rows {
		ms := float64(r.LatencyUS) / 1000
		i, _ := slices.BinarySearch(latencyBounds, ms)
		h.Counts[i]++
	}
	return h
}
