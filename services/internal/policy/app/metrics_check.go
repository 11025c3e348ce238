package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/metrics"
)

// CheckMetrics are the policy hooks' series (a public contract; names in
// docs/policy.md and docs/operations.md).
type CheckMetrics struct {
	decisions   *prometheus.CounterVec
	call        *prometheus.HistogramVec
	breakerOpen *prometheus.GaugeVec
}

// NewCheckMetrics registers the series on reg (nil: a private registry).
func NewCheckMetrics(reg prometheus.Registerer) (*CheckMetrics, error) {
	reg = metrics.Or(reg)
	var err error
	m := &CheckMetrics{
		decisions: metrics.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_policy_decisions_total",
			Help: "Policy hook decisions by hook, command and outcome (allowed, denied, overridden, failed, skipped).",
		}, []string{"hook_id", "command", "outcome"}), &err),
		call: metrics.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_policy_call_seconds",
			Help:    "Duration of policy hook HTTP calls (calls the breaker skipped are not observed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"hook_id"}), &err),
		breakerOpen: metrics.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roster_policy_breaker_open",
			Help: "1 while a policy hook's circuit breaker is open (calls skipped, on_failure applied at once).",
		}, []string{"hook_id"}), &err),
	}
	return m, err
}
