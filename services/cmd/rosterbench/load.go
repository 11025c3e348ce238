package main

import (
	"context"
	"sync"
	"time"
)

// loadResult is what a closed-loop run measured.
type loadResult struct {
	Ops     int           // operations that completed inside the measured window
	Errors  int           // failed operations inside the window
	Elapsed time.Duration // the measured window
	Lat     []time.Duration
	Err     error // the first error seen (anywhere), for the report
}

func (r loadResult) rate() float64 { return perSecond(r.Ops, r.Elapsed) }

// closedLoop runs clients goroutines that each call op back to back for
// warmup+measure. Only operations that start and finish inside the measure
// window count, so warm-up (connections, caches, JIT-like effects of the Go
// runtime) does not dilute the figure. op gets its client number and its
// own iteration count, so each client can own its keys.
func closedLoop(ctx context.Context, clients int, warmup, measure time.Duration, op func(ctx context.Context, client, iter int) error) loadResult {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+measure)
	ctx, cancel := context.WithDeadline(ctx, to)
	defer cancel()
	type part struct {
		ops, errs int
		lat       []time.Duration
		err       error
	}
	parts := make([]part, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[c]
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := op(ctx, c, i)
				t1 := time.Now()
				if err != nil && p.err == nil && ctx.Err() == nil {
					p.err = err
				}
				if t0.Before(from) || t1.After(to) {
					continue
				}
				if err != nil {
					p.errs++
					continue
				}
				p.ops++
				p.lat = append(p.lat, t1.Sub(t0))
			}
		}()
	}
	wg.Wait()
	var r loadResult
	r.Elapsed = measure
	for _, p := range parts {
		r.Ops += p.ops
		r.Errors += p.errs
		r.Lat = append(r.Lat, p.lat...)
		if r.Err == nil {
			r.Err = p.err
		}
	}
	return r
}

// fixedRate starts op every 1/rate seconds for d (open loop: a slow op does
// not slow the schedule, so queueing shows in the latencies), at most
// maxInFlight at once, and waits for all of them.
func fixedRate(ctx context.Context, rate float64, d time.Duration, maxInFlight int, op func(ctx context.Context, i int)) (started int) {
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	begin := time.Now()
	n := int(d.Seconds() * rate)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if wait := time.Until(begin.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		started++
		go func() {
			defer func() { <-sem; wg.Done() }()
			op(ctx, i)
		}()
	}
	wg.Wait()
	return started
}
