package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// cmdOptions sizes the command-throughput probe.
type cmdOptions struct {
	Clients    int
	Groups     int
	Warmup     time.Duration
	Duration   time.Duration
	SyncAlways bool
	Floor      bool // also measure the request/reply + append floor
	Nodes      int  // > 1: a loopback cluster of that many nodes, streams at R<Nodes> (cluster probe)
}

type cmdResult struct {
	Roster, Baseline loadResult
	// Floor is a diagnostic, not a contract figure: request/reply to a
	// trivial responder that makes one OCC append per request, i.e. the
	// transport Roster's command path is built on, without Roster's code.
	Floor loadResult
	// AsyncFloor is the same two hops through a responder that pipelines
	// its appends (PublishMsgAsync, reply on each ack, no goroutine per
	// request): the floor Roster's command path could reach if nothing
	// but the transport cost a command anything.
	AsyncFloor loadResult
	Payload    int // commit body bytes, used for the baseline
	Lat        summary
	BaseLat    summary
}

// runCmdProbe measures invite/remove commands through roster-groups over
// NATS request/reply against plain JetStream appends with
// Nats-Expected-Last-Subject-Sequence, on one server, same clients, same
// payload size. Client c owns the groups g with g%Clients == c, in both
// runs, so neither run has cross-client conflicts on a subject.
func runCmdProbe(ctx context.Context, o cmdOptions, prof *profiler, label string) (cmdResult, error) {
	var res cmdResult
	env, err := startEnv(o.Nodes, o.SyncAlways)
	if err != nil {
		return res, err
	}
	defer env.close()
	stop, err := runGroups(ctx, env.url(), env.replicated)
	if err != nil {
		return res, err
	}
	defer func() { _ = stop() }()
	pool, err := newConnPool(env.url(), o.Clients)
	if err != nil {
		return res, err
	}
	defer pool.close()

	name := func(g int) string { return fmt.Sprintf("bench-%06d", g) }
	if err := createGroups(ctx, pool, o.Groups, name, func(int) []string { return nil }, label); err != nil {
		return res, err
	}
	owned := make([][]int, o.Clients)
	for g := range o.Groups {
		owned[g%o.Clients] = append(owned[g%o.Clients], g)
	}
	for c, gs := range owned {
		if len(gs) == 0 {
			return res, fmt.Errorf("client %d owns no group: give --groups >= --clients", c)
		}
	}
	// member[g] says whether the bench user is in group g; each group is
	// touched by its owning client only.
	member := make([]bool, o.Groups)

	// Size the baseline's payload from real commits: one invite and one
	// remove, read back from the stream.
	if res.Payload, err = samplePayload(ctx, pool, name(0)); err != nil {
		return res, err
	}

	// Baseline first, on its own stream of the same server and storage.
	if _, err := pool.jss[0].CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_BASELINE", Subjects: []string{"bench.base.>"}, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute, Discard: jetstream.DiscardNew, Replicas: env.replicas(),
	}); err != nil {
		return res, fmt.Errorf("baseline stream: %w", err)
	}
	payload := make([]byte, res.Payload)
	for i := range payload {
		payload[i] = 'x'
	}
	last := make([]uint64, o.Groups)
	progress("%s: baseline, %d clients, %d-byte appends with expected last subject sequence", label, o.Clients, res.Payload)
	res.Baseline = closedLoop(ctx, o.Clients, o.Warmup, o.Duration, func(ctx context.Context, c, i int) error {
		g := owned[c][i%len(owned[c])]
		ack, err := pool.jss[c].Publish(ctx, "bench.base."+name(g), payload, jetstream.WithExpectLastSequencePerSubject(last[g]))
		if err != nil {
			return err
		}
		last[g] = ack.Sequence
		return nil
	})

	if o.Floor {
		if res.Floor, err = runFloor(ctx, env.url(), pool, o, owned, name, payload); err != nil {
			return res, err
		}
		if res.AsyncFloor, err = runAsyncFloor(ctx, env.url(), pool, o, owned, name, payload); err != nil {
			return res, err
		}
	}

	progress("%s: Roster, %d clients over %d groups, member.invite/member.remove", label, o.Clients, o.Groups)
	stopProf := prof.start(label)
	res.Roster = closedLoop(ctx, o.Clients, o.Warmup, o.Duration, func(ctx context.Context, c, i int) error {
		g := owned[c][i%len(owned[c])]
		verb := "member.invite"
		if member[g] {
			verb = "member.remove"
		}
		cctx, cancel := timeoutCtx(ctx, 10*time.Second)
		defer cancel()
		_, err := command(cctx, pool.ncs[c], verb, usersReq{GroupID: name(g), Actor: owner, UserIDs: []string{"bench-user"}})
		switch {
		case err == nil:
			member[g] = !member[g]
		case verb == "member.invite" && codeOf(err) == string(events.CodeAlreadyExists):
			member[g] = true // an earlier attempt timed out on our side but landed
		case verb == "member.remove" && codeOf(err) == string(events.CodeNotFound):
			member[g] = false
		}
		return err
	})
	stopProf()
	res.Lat = summarize(res.Roster.Lat)
	res.BaseLat = summarize(res.Baseline.Lat)
	if res.Roster.Ops == 0 {
		return res, fmt.Errorf("no command succeeded: %w", errors.Join(res.Roster.Err))
	}
	return res, nil
}

// samplePayload invites and removes a user on group g and returns the
// mean body size of the two commits.
func samplePayload(ctx context.Context, pool *connPool, g string) (int, error) {
	stream, err := pool.jss[0].Stream(ctx, events.StreamName)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, verb := range []string{"member.invite", "member.remove"} {
		cctx, cancel := timeoutCtx(ctx, 10*time.Second)
		_, err := command(cctx, pool.ncs[0], verb, usersReq{GroupID: g, Actor: owner, UserIDs: []string{"sample-user"}})
		cancel()
		if err != nil {
			return 0, fmt.Errorf("sample %s: %w", verb, err)
		}
		m, err := stream.GetLastMsgForSubject(ctx, events.Subject(g))
		if err != nil {
			return 0, err
		}
		total += len(m.Data)
	}
	return total / 2, nil
}

// runFloor measures clients doing NATS request/reply to a responder that
// appends one message of the commit's size with the expected-sequence
// check and replies with as many bytes: Roster's two hops without
// decoding, deciding or folding anything.
func runFloor(ctx context.Context, url string, pool *connPool, o cmdOptions, owned [][]int, name func(int) string, payload []byte) (loadResult, error) {
	nc, js, err := connect(url, "rosterbench-floor")
	if err != nil {
		return loadResult{}, err
	}
	defer nc.Close()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_FLOOR", Subjects: []string{"bench.floorev.>"}, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute, Discard: jetstream.DiscardNew,
	}); err != nil {
		return loadResult{}, fmt.Errorf("floor stream: %w", err)
	}
	var mu sync.Mutex
	last := map[string]uint64{}
	sub, err := nc.QueueSubscribe("bench.floor.>", "floor", func(m *nats.Msg) {
		go func() {
			g := strings.TrimPrefix(m.Subject, "bench.floor.")
			mu.Lock()
			seq := last[g]
			mu.Unlock()
			pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ack, err := js.Publish(pctx, "bench.floorev."+g, payload, jetstream.WithExpectLastSequencePerSubject(seq))
			if err != nil {
				_ = m.Respond([]byte(`{"error":{"code":"unavailable"}}`))
				return
			}
			mu.Lock()
			last[g] = ack.Sequence
			mu.Unlock()
			_ = m.Respond(payload)
		}()
	})
	if err != nil {
		return loadResult{}, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	progress("cmd: floor, request/reply to a responder doing one OCC append, %d clients", o.Clients)
	return floorLoad(ctx, pool, o, owned, name, "bench.floor."), nil
}

// floorLoad runs the floor's clients: request/reply on prefix+group, each
// client on the groups it owns, one request in flight per client (so per
// group), a reply starting with '{' counted as a failure.
func floorLoad(ctx context.Context, pool *connPool, o cmdOptions, owned [][]int, name func(int) string, prefix string) loadResult {
	req := []byte(`{"group_id":"bench-000000","actor":"owner","user_ids":["bench-user"]}`)
	return closedLoop(ctx, o.Clients, o.Warmup, max(o.Duration/2, time.Second), func(ctx context.Context, c, i int) error {
		g := owned[c][i%len(owned[c])]
		cctx, cancel := timeoutCtx(ctx, 10*time.Second)
		defer cancel()
		m, err := pool.ncs[c].RequestWithContext(cctx, prefix+name(g), req)
		if err == nil && len(m.Data) > 0 && m.Data[0] == '{' {
			err = fmt.Errorf("floor: %s", m.Data)
		}
		return err
	})
}

// runAsyncFloor is runFloor with a responder that pipelines its appends:
// the subscription's callback publishes each request's append with
// PublishMsgAsync (expected last subject sequence, as in runFloor) and
// returns at once, and the JetStream ack handler replies to the request
// when its ack arrives, so many appends, of different groups, are in
// flight at once without a goroutine per request. Each group has at most
// one request in flight (one per client, on groups it owns), so the
// group's last sequence is known when its next request arrives.
func runAsyncFloor(ctx context.Context, url string, pool *connPool, o cmdOptions, owned [][]int, name func(int) string, payload []byte) (loadResult, error) {
	nc, err := nats.Connect(url, nats.Name("rosterbench-floor-async"), nats.MaxReconnects(-1))
	if err != nil {
		return loadResult{}, fmt.Errorf("connect floor-async: %w", err)
	}
	defer nc.Close()
	var (
		mu      sync.Mutex
		last    = map[string]uint64{}
		waiting = map[*nats.Msg]*nats.Msg{} // append -> the request it answers
	)
	// take returns (and forgets) the request an append answers.
	take := func(pub *nats.Msg) *nats.Msg {
		mu.Lock()
		defer mu.Unlock()
		req := waiting[pub]
		delete(waiting, pub)
		return req
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(10*time.Second),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, pub *nats.Msg, ack *jetstream.PubAck) {
			req := take(pub)
			if req == nil {
				return
			}
			mu.Lock()
			last[strings.TrimPrefix(pub.Subject, "bench.floorasyncev.")] = ack.Sequence
			mu.Unlock()
			_ = req.Respond(payload)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, pub *nats.Msg, _ error) {
			if req := take(pub); req != nil {
				_ = req.Respond([]byte(`{"error":{"code":"unavailable"}}`))
			}
		}),
	)
	if err != nil {
		return loadResult{}, err
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "BENCH_FLOOR_ASYNC", Subjects: []string{"bench.floorasyncev.>"}, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute, Discard: jetstream.DiscardNew,
	}); err != nil {
		return loadResult{}, fmt.Errorf("async floor stream: %w", err)
	}
	sub, err := nc.QueueSubscribe("bench.floorasync.>", "floor-async", func(m *nats.Msg) {
		g := strings.TrimPrefix(m.Subject, "bench.floorasync.")
		pub := nats.NewMsg("bench.floorasyncev." + g)
		pub.Data = payload
		mu.Lock()
		seq := last[g]
		waiting[pub] = m
		mu.Unlock()
		if _, err := js.PublishMsgAsync(pub, jetstream.WithExpectLastSequencePerSubject(seq)); err != nil {
			if req := take(pub); req != nil {
				_ = req.Respond([]byte(`{"error":{"code":"unavailable"}}`))
			}
		}
	})
	if err != nil {
		return loadResult{}, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	progress("cmd: async floor, request/reply to a responder pipelining its OCC appends, %d clients", o.Clients)
	return floorLoad(ctx, pool, o, owned, name, "bench.floorasync."), nil
}
