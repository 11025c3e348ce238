package eventstore

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/services/internal/metrics"
)

// storeMetrics are the Prometheus series of a Store's reads, on the
// Config's registerer (stores of one process share them).
type storeMetrics struct {
	leaderGets, directBatches, replicaBehind prometheus.Counter
}

func newStoreMetrics(reg prometheus.Registerer) (storeMetrics, error) {
	reg = metrics.Or(reg)
	var err error
	m := storeMetrics{
		leaderGets: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_eventstore_leader_gets_total", Help: "Single-message reads answered by the ROSTER_EVENTS stream leader (last commit of a group, one commit, catch-up past a lagging replica).",
		}), &err),
		directBatches: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_eventstore_direct_batches_total", Help: "Batched direct reads of a group's commits, answered by any ROSTER_EVENTS replica.",
		}), &err),
		replicaBehind: metrics.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_eventstore_replica_behind_total", Help: "Loads where the replica answering a direct batch ended before the leader's last commit; the load went on from the leader.",
		}), &err),
	}
	if err != nil {
		return storeMetrics{}, fmt.Errorf("event store metrics: %w", err)
	}
	return m, nil
}

// ReadStats counts one Store's reads since it was opened.
type ReadStats struct {
	LeaderGets    uint64
	DirectBatches uint64
	// ReplicaBehind counts direct batches that ended before the leader's
	// last commit of the group (the answering replica was catching up).
	ReplicaBehind uint64
}

type readStats struct {
	leaderGets, directBatches, replicaBehind atomic.Uint64
}

// Stats returns the Store's read counters.
func (s *Store) Stats() ReadStats {
	return ReadStats{
		LeaderGets:    s.stats.leaderGets.Load(),
		DirectBatches: s.stats.directBatches.Load(),
		ReplicaBehind: s.stats.replicaBehind.Load(),
	}
}

func (s *Store) replicaBehind() {
	s.stats.replicaBehind.Add(1)
	s.metrics.replicaBehind.Inc()
}
