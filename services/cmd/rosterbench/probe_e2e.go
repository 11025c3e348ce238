package main

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/rosterhq/roster/services/internal/webhook"
)

type e2eOptions struct {
	Rate     float64
	Duration time.Duration
	Groups   int
}

type e2eResult struct {
	Lat, FromSend summary
	Sent, Got     int
	Rejected      int
	Early         int // deliveries that arrived before the client had its reply
}

var commandIDInBody = regexp.MustCompile(`"command_id":"(e2e-[0-9]+)"`)

// runE2EProbe runs roster-groups and the webhook dispatcher in-process with
// one healthy loopback endpoint, sends member.invite commands at a fixed
// rate (open loop), and measures, per command, from the moment the client
// has the acceptance to the moment the receiver has the webhook. The
// command_id in the request finds the delivery.
func runE2EProbe(ctx context.Context, o e2eOptions, prof *profiler) (e2eResult, error) {
	var res e2eResult
	env, err := startNATS(false)
	if err != nil {
		return res, err
	}
	defer env.close()
	stopGroups, err := runGroups(ctx, env.url(), nil)
	if err != nil {
		return res, err
	}
	defer func() { _ = stopGroups() }()
	nc, js, err := connect(env.url(), "rosterbench-e2e-webhook")
	if err != nil {
		return res, err
	}
	defer nc.Close()
	sink, err := startSink()
	if err != nil {
		return res, err
	}
	defer sink.close()
	stopDispatcher, err := runDispatcher(ctx, nc, js, "e2e")
	if err != nil {
		return res, err
	}
	defer stopDispatcher()
	pool, err := newConnPool(env.url(), 8)
	if err != nil {
		return res, err
	}
	defer pool.close()
	name := func(g int) string { return fmt.Sprintf("e2e-%04d", g) }
	if err := createGroups(ctx, pool, o.Groups, name, func(int) []string { return nil }, "e2e"); err != nil {
		return res, err
	}
	if _, err := createEndpoint(ctx, nc, webhook.CreateRequest{Actor: "bench", URL: sink.url("/ep/0")}); err != nil {
		return res, err
	}

	var mu sync.Mutex
	sent := map[string]time.Time{}
	accepted := map[string]time.Time{}
	arrived := map[string]time.Time{}
	sink.mu.Lock()
	sink.onArrive = func(body []byte, at time.Time) {
		if m := commandIDInBody.FindSubmatch(body); m != nil {
			mu.Lock()
			if _, dup := arrived[string(m[1])]; !dup {
				arrived[string(m[1])] = at
			}
			mu.Unlock()
		}
	}
	sink.mu.Unlock()

	progress("e2e: %.0f member.invite/s for %s, webhook to one loopback endpoint", o.Rate, o.Duration)
	stopProf := prof.start("e2e")
	started := fixedRate(ctx, o.Rate, o.Duration, 512, func(ctx context.Context, i int) {
		cid := fmt.Sprintf("e2e-%d", i)
		req := struct {
			usersReq
			CommandID string `json:"command_id"`
		}{usersReq{GroupID: name(i % o.Groups), Actor: owner, UserIDs: []string{fmt.Sprintf("u-%d", i)}}, cid}
		cctx, cancel := timeoutCtx(ctx, 10*time.Second)
		defer cancel()
		t0 := time.Now()
		_, err := command(cctx, pool.ncs[i%len(pool.ncs)], "member.invite", req)
		t1 := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Rejected++
			return
		}
		sent[cid], accepted[cid] = t0, t1
	})
	res.Sent = started
	// Wait for the stragglers.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		mu.Lock()
		all := true
		for cid := range accepted {
			if _, ok := arrived[cid]; !ok {
				all = false
				break
			}
		}
		mu.Unlock()
		if all {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopProf()
	mu.Lock()
	defer mu.Unlock()
	var lat, fromSend []time.Duration
	for cid, acc := range accepted {
		at, ok := arrived[cid]
		if !ok {
			continue
		}
		res.Got++
		l := at.Sub(acc)
		if l < 0 {
			res.Early++
			l = 0
		}
		lat = append(lat, l)
		fromSend = append(fromSend, at.Sub(sent[cid]))
	}
	res.Lat, res.FromSend = summarize(lat), summarize(fromSend)
	if res.Got == 0 {
		return res, fmt.Errorf("no webhook arrived (%d commands accepted, %d rejected)", len(accepted), res.Rejected)
	}
	return res, nil
}
