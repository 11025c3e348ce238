package app

import "sync"

// givenBack remembers, per job message (stream sequence of
// ROSTER_WEBHOOK_DELIVERIES), the deliveries this dispatcher handed back to
// JetStream without sending an HTTP request (held behind an earlier job,
// paused, throttled while stopping, early for its schedule). A later delivery of the same attempt is a repeat only if
// some earlier delivery since the last saved state is not among them: that
// holder may have sent the request (a crash or a lost connection between
// the request and the save). Deliveries handed back by another process are
// not known here and count as possibly sent (ADR 0026).
type givenBack struct {
	mu sync.Mutex
	m  map[uint64][]uint64
}

// maxGivenBack bounds the memory: past it the record is cleared, which
// only marks some later attempts as possible repeats.
const (
	maxGivenBack       = 1 << 16
	maxGivenBackPerJob = 64
)

func (g *givenBack) add(seq, delivery uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil || len(g.m) >= maxGivenBack {
		g.m = map[uint64][]uint64{}
	}
	ds := g.m[seq]
	if len(ds) >= maxGivenBackPerJob {
		ds = ds[1:]
	}
	g.m[seq] = append(ds, delivery)
}

func (g *givenBack) forget(seq uint64) {
	g.mu.Lock()
	delete(g.m, seq)
	g.mu.Unlock()
}

// repeat reports whether a delivery before this one (numbered delivery)
// and after saved (the delivery whose outcome was last saved, 0: none) may
// have sent the request this delivery is about to send.
func (g *givenBack) repeat(seq, delivery, saved uint64) bool {
	if delivery <= saved+1 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	known := uint64(0)
	for _, d := range g.m[seq] {
		if d > saved && d < delivery {
			known++
		}
	}
	return delivery-1-saved > known
}
