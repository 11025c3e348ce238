// Package metrics is how every Roster service registers its Prometheus
// collectors: on the one prometheus.Registerer its process injects
// (rosterd serves it on /metrics, docs/adr/0078), never on the global
// default, and on a private registry when none is given, so parallel tests
// and several services in one process never collide.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Or returns reg, or a fresh private registry when reg is nil.
func Or(reg prometheus.Registerer) prometheus.Registerer {
	if reg == nil {
		return prometheus.NewRegistry()
	}
	return reg
}

// Register registers c on reg and returns it, or returns the collector of
// the same type already registered there under the same descriptors (two
// services of one kind in a process share their series). Any other
// registration failure is joined into *errp and c is returned unregistered.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*errp = errors.Join(*errp, err)
	return c
}
