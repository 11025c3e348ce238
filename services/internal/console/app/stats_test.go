package app

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

func TestComputeStats(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []record.DeliveryAttempt
	for i := range 100 {
		r := record.DeliveryAttempt{Success: i%4 != 0, LatencyUS: int64(i+1) * 1000, StartedAt: t0.Add(time.Duration(i) * time.Second)}
		if !r.Success {
			r.FailureClass = "http_5xx"
		}
		rows = append(rows, r)
	}
	rows[96].FailureClass = "timeout" // the latest failure (i=96)
	s := ComputeStats(rows)
	if s.Attempts != 100 || s.Successes != 75 || s.SuccessRate() != 75 {
		t.Fatalf("want 100 attempts, 75 successes, have %+v", s)
	}
	if s.P99 != 99*time.Millisecond {
		t.Fatalf("p99: want 99ms (nearest rank), have %s", s.P99)
	}
	if s.LastFailureClass != "timeout" || !s.LastFailureAt.Equal(t0.Add(96*time.Second)) {
		t.Fatalf("last failure: have %s at %s", s.LastFailureClass, s.LastFailureAt)
	}
	if (Stats{}).SuccessRate() != -1 {
		t.Fatal("no attempts: want -1")
	}

	se := ComputeSeries(rows, t0, t0.Add(2*time.Minute), time.Minute)
	if len(se.Times) != 3 || se.Attempts[0] != 60 || se.Attempts[1] != 40 || se.Failures[0] != 15 || se.Failures[1] != 10 {
		t.Fatalf("series: %+v", se)
	}
	h := ComputeHistogram(rows)
	total := 0
	for _, c := range h.Counts {
		total += c
	}
	// 1..100 ms: <=1: 1, <=2: 1, <=5: 3, <=10: 5, <=25: 15, <=50: 25, <=100: 50.
	if total != 100 || h.Counts[0] != 1 || h.Counts[4] != 15 || h.Counts[6] != 50 {
		t.Fatalf("histogram: %+v", h.Counts)
	}
}

func TestPage(t *testing.T) {
	rows := make([]int, 120)
	p, more := Page(rows, 1)
	if len(p) != PageSize || !more {
		t.Fatal("page 1")
	}
	if p, more = Page(rows, 3); len(p) != 20 || more {
		t.Fatal("page 3")
	}
	if p, _ = Page(rows, 4); p != nil {
		t.Fatal("page 4")
	}
}

func TestEventFilter(t *testing.T) {
	for _, tc := range []struct {
		filter, typ string
		want        bool
	}{{"", "member.invited", true}, {"*", "group.created", true}, {"member.*", "member.invited", true}, {"member.*", "group.created", false}, {"member.invited", "member.invited", true}, {"member.invited", "member.joined", false}} {
		if have := (EventFilter{Type: tc.filter}).Match(eventOf(tc.typ)); have != tc.want {
			t.Errorf("%q matches %q: want %v", tc.filter, tc.typ, tc.want)
		}
	}
}

func TestBreakerFromDecisions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	d := func(outcome string, ago time.Duration) record.PolicyDecision {
		return record.PolicyDecision{Outcome: outcome, DecidedAt: now.Add(-ago), LatencyMS: 1}
	}
	for _, tc := range []struct {
		name string
		ds   []record.PolicyDecision
		want string
		row  int
	}{
		{"no decisions", nil, "closed", 0},
		{"failures below the threshold", []record.PolicyDecision{d("failed", 5*time.Second), d("failed", 4*time.Second)}, "closed", 2},
		{"a success resets the count", []record.PolicyDecision{d("failed", 9*time.Second), d("failed", 8*time.Second), d("allowed", 7*time.Second)}, "closed", 0},
		{"five failures open it", []record.PolicyDecision{d("failed", 5*time.Second), d("failed", 4*time.Second), d("failed", 3*time.Second), d("failed", 2*time.Second), d("failed", time.Second)}, "open", 5},
		{"skipped calls: open", []record.PolicyDecision{d("failed", 2*time.Second), d("skipped", time.Second)}, "open", 1},
		{"cool-down passed: half-open", []record.PolicyDecision{d("skipped", time.Minute)}, "half-open", 0},
	} {
		s := summarize(PolicyHook{ID: "h"}, tc.ds, now)
		if s.Breaker != tc.want || s.FailingInARow != tc.row {
			t.Errorf("%s: want %s with %d failing in a row, have %s with %d", tc.name, tc.want, tc.row, s.Breaker, s.FailingInARow)
		}
	}
}
