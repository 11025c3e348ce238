package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/metrics"
)

func TestRegisterReusesTheSameSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	var err error
	a := metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}), &err)
	b := metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}), &err)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the second registration did not reuse the first collector")
	}
	// Same name, other kind: a conflict, reported.
	metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "other"}), &err)
	if err == nil {
		t.Fatal("want a conflict error for a different collector under the same name")
	}
}

func TestOrGivesAPrivateRegistry(t *testing.T) {
	a, b := metrics.Or(nil), metrics.Or(nil)
	if a == b || a == prometheus.DefaultRegisterer {
		t.Fatal("want a fresh private registry per call")
	}
	reg := prometheus.NewRegistry()
	if metrics.Or(reg) != reg {
		t.Fatal("want the given registry back")
	}
}
