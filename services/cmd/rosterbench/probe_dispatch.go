package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/webhook"
)

type dispatchOptions struct {
	Events  int           // events published per phase
	Timeout time.Duration // give up waiting for deliveries after this
	// The cluster probe's: Nodes > 1 runs on a loopback cluster with
	// R<Nodes> streams, SyncAlways sets sync_interval: always, HealthyOnly
	// skips phase two (the hanging endpoint).
	Nodes       int
	SyncAlways  bool
	HealthyOnly bool
}

type dispatchResult struct {
	Healthy, Hanging, Baseline float64 // deliveries/s
	HealthyDone, HangingDone   bool
	Concurrency                int
	BodyBytes                  int
	HealthyN, HangingN         int64
	// HealthyJobs, HangingJobs: job messages stored in
	// ROSTER_WEBHOOK_DELIVERIES during each phase (each is one publish,
	// one delivery to a worker and one ack: the per-job JetStream work).
	HealthyJobs, HangingJobs uint64
	// Catchup: deliveries/s of a backlog of o.Events held while no
	// dispatcher ran, from a fresh dispatcher's start to the last delivery.
	Catchup     float64
	CatchupN    int64
	CatchupDone bool
}

// runDispatchProbe runs the real dispatcher (webhook.New + Run) against
// loopback receivers. Phase one: one healthy endpoint; o.Events events are
// appended to ROSTER_EVENTS and the rate is events delivered per second
// from the first append to the last delivery. Phase two: that endpoint is
// deleted, ten are created of which one never answers (the endpoint's
// default 15s timeout applies), the same number of events is appended, and
// the rate is deliveries to the nine healthy ones per second. The baseline
// POSTs the bodies phase one delivered, at the dispatcher's per-endpoint
// concurrency, with a plain keep-alive http.Client to the same receiver.
func runDispatchProbe(ctx context.Context, o dispatchOptions, prof *profiler) (dispatchResult, error) {
	var res dispatchResult
	env, err := startEnv(o.Nodes, o.SyncAlways)
	if err != nil {
		return res, err
	}
	defer env.close()
	nc, js, err := connect(env.url(), "rosterbench-dispatch")
	if err != nil {
		return res, err
	}
	defer nc.Close()
	if _, err := eventstore.Provision(ctx, js, eventstore.StreamConfig{Replicas: env.replicas()}); err != nil {
		return res, err
	}
	sink, err := startSink()
	if err != nil {
		return res, err
	}
	defer sink.close()

	stopDispatcher, err := runDispatcherReplicas(ctx, nc, js, "dispatch", env.replicas())
	if err != nil {
		return res, err
	}
	defer func() { stopDispatcher() }() // the catch-up phase replaces it
	res.Concurrency = 16                // webhook.Config.Concurrency's default, per endpoint

	h := &history{at: time.Now().UTC()}
	fill := func(prefix string) error {
		per := 100
		for g := 0; g*per < o.Events; g++ {
			commits, err := h.group(fmt.Sprintf("%s-%05d", prefix, g), 10, min(per, o.Events-g*per))
			if err != nil {
				return err
			}
			if err := appendAsync(ctx, js, commits); err != nil {
				return err
			}
		}
		return nil
	}

	// Phase one: one healthy endpoint.
	ep0, err := createEndpoint(ctx, nc, webhook.CreateRequest{Actor: "bench", URL: sink.url("/ep/0")})
	if err != nil {
		return res, err
	}
	sink.mu.Lock()
	sink.keep = true
	sink.mu.Unlock()
	progress("dispatch: one healthy endpoint, %d events", o.Events)
	stopProf := prof.start("dispatch-healthy")
	t0 := time.Now()
	if err := fill("dh"); err != nil {
		return res, err
	}
	appended := time.Since(t0)
	t1, ok := waitCounts(ctx, sink, []int{0}, int64(o.Events), o.Timeout)
	progress("dispatch: appended in %s, delivered in %s", appended.Round(time.Millisecond), t1.Sub(t0).Round(time.Millisecond))
	stopProf()
	res.HealthyN, res.HealthyDone = sink.count(0), ok
	res.Healthy = perSecond(int(res.HealthyN), t1.Sub(t0))
	jobs0 := jobsStored(ctx, js)
	res.HealthyJobs = jobs0
	progress("dispatch: %d deliveries from %d job messages", res.HealthyN, res.HealthyJobs)
	sink.mu.Lock()
	sink.keep = false
	bodies := sink.bodies
	sink.mu.Unlock()

	// Catch-up: the same number of events appended while no dispatcher
	// runs, then a fresh dispatcher delivers the backlog to the same
	// endpoint; timed from its start to the last delivery. Unlike phase
	// one, producing and storing the events is not inside the timing, as
	// producing the bodies is not inside the baseline's.
	if !o.HealthyOnly {
		stopDispatcher()
		stopDispatcher = func() {}
		if err := fill("dc"); err != nil {
			return res, err
		}
		progress("dispatch: catch-up, %d events held while no dispatcher ran", o.Events)
		stopProf = prof.start("dispatch-catchup")
		t0 = time.Now()
		stopDispatcher, err = runDispatcherReplicas(ctx, nc, js, "dispatch", env.replicas())
		if err != nil {
			stopProf()
			return res, err
		}
		t1, ok = waitCounts(ctx, sink, []int{0}, res.HealthyN+int64(o.Events), o.Timeout)
		stopProf()
		res.CatchupN, res.CatchupDone = sink.count(0)-res.HealthyN, ok
		res.Catchup = perSecond(int(res.CatchupN), t1.Sub(t0))
		progress("dispatch: catch-up delivered %d in %s", res.CatchupN, t1.Sub(t0).Round(time.Millisecond))
	}
	if err := endpointCall(ctx, nc, "delete", map[string]string{"actor": "bench", "id": ep0}); err != nil {
		return res, err
	}
	if o.HealthyOnly {
		return res, dispatchBaseline(ctx, sink, bodies, &res)
	}

	// Phase two: nine healthy endpoints and one that hangs.
	healthy := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, n := range healthy {
		if _, err := createEndpoint(ctx, nc, webhook.CreateRequest{Actor: "bench", URL: sink.url(fmt.Sprintf("/ep/%d", n))}); err != nil {
			return res, err
		}
	}
	if _, err := createEndpoint(ctx, nc, webhook.CreateRequest{Actor: "bench", URL: sink.url("/hang")}); err != nil {
		return res, err
	}
	progress("dispatch: nine healthy endpoints and one that hangs, %d events", o.Events)
	jobs1 := jobsStored(ctx, js)
	stopProf = prof.start("dispatch-hanging")
	t0 = time.Now()
	if err := fill("dx"); err != nil {
		return res, err
	}
	t1, ok = waitCounts(ctx, sink, healthy, int64(o.Events), o.Timeout)
	stopProf()
	var total int64
	for _, n := range healthy {
		total += sink.count(n)
	}
	res.HangingN, res.HangingDone = total, ok
	res.Hanging = perSecond(int(total), t1.Sub(t0))
	res.HangingJobs = jobsStored(ctx, js) - jobs1
	progress("dispatch: %d deliveries (healthy endpoints) from %d job messages (all ten endpoints)", res.HangingN, res.HangingJobs)
	return res, dispatchBaseline(ctx, sink, bodies, &res)
}

// dispatchBaseline POSTs the bodies phase one delivered again, plain, at
// the same concurrency, into res.Baseline (and their mean size).
func dispatchBaseline(ctx context.Context, sink *httpSink, bodies [][]byte, res *dispatchResult) error {
	if len(bodies) == 0 {
		return fmt.Errorf("no delivery reached the healthy endpoint")
	}
	for _, b := range bodies {
		res.BodyBytes += len(b)
	}
	res.BodyBytes /= len(bodies)
	progress("dispatch: baseline, %d plain POSTs at concurrency %d", len(bodies), res.Concurrency)
	var err error
	res.Baseline, err = postAll(ctx, sink.url("/ep/15"), bodies, res.Concurrency)
	return err
}

// jobsStored is how many job messages ROSTER_WEBHOOK_DELIVERIES has
// stored so far (0 when it cannot be read: the figure is informational).
func jobsStored(ctx context.Context, js jetstream.JetStream) uint64 {
	s, err := js.Stream(ctx, webhook.DeliveriesStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.LastSeq
}

// postAll POSTs every body once, conc at a time, and returns POSTs/s.
func postAll(ctx context.Context, url string, bodies [][]byte, conc int) (float64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	t0 := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_ = resp.Body.Close()
						if resp.StatusCode/100 != 2 {
							err = fmt.Errorf("baseline POST: %s", resp.Status)
						}
					}
				}
				if err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return perSecond(len(bodies), time.Since(t0)), first
}

func waitEndpointService(ctx context.Context, nc *nats.Conn) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := nc.Request(webhook.SubjectPrefix+"list", []byte(`{}`), time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("roster-webhooks did not answer: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createEndpoint(ctx context.Context, nc *nats.Conn, req webhook.CreateRequest) (string, error) {
	var rep webhook.EndpointReply
	if err := endpointRequest(ctx, nc, "create", req, &rep); err != nil {
		return "", err
	}
	return rep.Endpoint.ID, nil
}

func endpointCall(ctx context.Context, nc *nats.Conn, verb string, req any) error {
	return endpointRequest(ctx, nc, verb, req, nil)
}

func endpointRequest(ctx context.Context, nc *nats.Conn, verb string, req, out any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cctx, cancel := timeoutCtx(ctx, 10*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(cctx, webhook.SubjectPrefix+verb, data)
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", verb, err)
	}
	if msg.Header.Get("Nats-Service-Error-Code") != "" {
		return fmt.Errorf("endpoint %s: %s", verb, msg.Data)
	}
	if out != nil {
		return json.Unmarshal(msg.Data, out)
	}
	return nil
}
