package main

import (
	"context"
	"fmt"
	"time"
)

type memOptions struct {
	Groups  int // groups created
	Members int // members per group, owner included
	Workers int // concurrent create requests
}

type memResult struct {
	Groups                   int
	ServicesMB, ServicesIdle float64 // roster-groups after the load, and when it started
	NATSMB, NATSIdle         float64 // the NATS server process, for context
	Elapsed                  time.Duration
}

// runMemoryProbe creates o.Groups groups of o.Members members through a
// roster-groups process of its own (service defaults: it keeps the most
// recent CacheGroups groups hot) against a NATS server process of its own,
// and reads both processes' RSS. rss_mb is the Roster services' figure; the
// NATS server's is reported beside it because it grows with the number of
// subjects (one per group).
func runMemoryProbe(ctx context.Context, o memOptions) (memResult, error) {
	res := memResult{Groups: o.Groups}
	ns, err := spawn(ctx, "nats")
	if err != nil {
		return res, err
	}
	defer func() { _ = ns.stop() }()
	url := ns.ready
	svc, err := spawn(ctx, "groups", "--nats", url)
	if err != nil {
		return res, err
	}
	defer func() { _ = svc.stop() }()
	if res.ServicesIdle, err = svc.rssMB(); err != nil {
		return res, err
	}
	if res.NATSIdle, err = ns.rssMB(); err != nil {
		return res, err
	}
	pool, err := newConnPool(url, o.Workers)
	if err != nil {
		return res, err
	}
	defer pool.close()
	others := o.Members - 1
	t0 := time.Now()
	err = createGroups(ctx, pool, o.Groups,
		func(i int) string { return fmt.Sprintf("mem-%07d", i) },
		func(i int) []string { return users("u", (i*others)%1_000_000, others) },
		"memory")
	res.Elapsed = time.Since(t0)
	if err != nil {
		return res, err
	}
	if res.ServicesMB, err = svc.rssMB(); err != nil {
		return res, err
	}
	if res.NATSMB, err = ns.rssMB(); err != nil {
		return res, err
	}
	return res, nil
}
