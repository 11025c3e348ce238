package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
)

type rebuildOptions struct {
	Events         int // events in the stream (one per commit)
	EventsPerGroup int
}

type rebuildResult struct {
	Events, Commits          uint64
	Took, BaseTook, FillTook time.Duration
	BaseMsgs                 int
	// Writes is what the rebuild's bulk phase stored; KVTook is how long
	// the same number of raw KV puts of the same sizes took.
	Writes membership.WriteCount
	KVTook time.Duration
}

func (r rebuildResult) rate() float64     { return perSecond(int(r.Events), r.Took) }
func (r rebuildResult) baseRate() float64 { return perSecond(r.BaseMsgs, r.BaseTook) }

// kvRate is the KV ceiling as events/s: the rebuild's events divided by the
// time the raw puts of what it wrote took. kvRate/rate is then how much
// longer the rebuild took than storing its writes alone.
func (r rebuildResult) kvRate() float64 { return perSecond(int(r.Events), r.KVTook) }

// kvPutRate is the raw puts per second of the KV ceiling.
func (r rebuildResult) kvPutRate() float64 { return perSecond(int(r.Writes.Messages), r.KVTook) }

// runRebuildProbe fills ROSTER_EVENTS with o.Events events (groups of
// o.EventsPerGroup: a create with ten members, then single-user invites),
// reads the whole stream with a plain ordered consumer (the baseline), then
// runs membership.Rebuild into a fresh generation of the file-backed read
// model and times it.
func runRebuildProbe(ctx context.Context, o rebuildOptions, prof *profiler) (rebuildResult, error) {
	var res rebuildResult
	env, err := startNATS(false)
	if err != nil {
		return res, err
	}
	defer env.close()
	nc, js, err := connect(env.url(), "rosterbench-rebuild")
	if err != nil {
		return res, err
	}
	defer nc.Close()
	stream, err := eventstore.Provision(ctx, js, eventstore.StreamConfig{})
	if err != nil {
		return res, err
	}
	if err := fillStream(ctx, env.url(), o); err != nil {
		return res, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return res, err
	}
	progress("rebuild: stream holds %d commits (%d MiB)", info.State.Msgs, info.State.Bytes>>20)

	progress("rebuild: baseline, ordered-consumer read of the stream")
	t0 := time.Now()
	n, err := readAll(ctx, stream, info.State.Msgs)
	res.BaseTook, res.BaseMsgs = time.Since(t0), n
	if err != nil {
		return res, fmt.Errorf("baseline read: %w", err)
	}

	progress("rebuild: Roster, membership.Rebuild into a fresh generation")
	stopProf := prof.start("rebuild")
	t0 = time.Now()
	var lastTenth uint64
	r, err := membership.Rebuild(ctx, membership.RebuildConfig{
		JS: js, Log: benchLog().With().Str("component", "rebuild").Logger(),
		Progress: func(p membership.RebuildProgress) {
			if p.TargetSeq > 0 {
				if tenth := p.AppliedSeq * 10 / p.TargetSeq; tenth > lastTenth {
					lastTenth = tenth
					progress("rebuild: applied %d/%d commits", p.AppliedSeq, p.TargetSeq)
				}
			}
		},
	})
	res.Took = time.Since(t0)
	stopProf()
	if err != nil {
		return res, err
	}
	res.Events, res.Commits, res.Writes = r.Events, r.Commits, r.BulkWrites
	if r.Events == 0 || r.BulkWrites.Messages == 0 {
		return res, fmt.Errorf("rebuild applied no events")
	}
	// The second baseline stores what the rebuild stored, on a server that
	// holds what it held: drop the rebuilt generation first.
	if err := js.DeleteKeyValue(ctx, r.To.Bucket); err != nil {
		return res, fmt.Errorf("drop rebuilt generation: %w", err)
	}
	progress("rebuild: baseline, %d raw async KV puts of the rebuild's mean key and value size", r.BulkWrites.Messages)
	res.KVTook, err = putAll(ctx, js, r.BulkWrites)
	if err != nil {
		return res, fmt.Errorf("KV baseline: %w", err)
	}
	return res, nil
}

// putAll stores w.Messages values into a fresh bucket made as a read-model
// generation is (kvmodel.Create: history 1, file storage, one replica):
// KV puts (a publish to the key's subject), each key distinct and of the
// mean key length, each value of the mean value size, so the same number of
// messages and the same bytes as the rebuild. They are sent as fast as
// JetStream stores them: without waiting, and with a publish ack asked for
// every kvAckEvery-th put only, at most kvMaxUnproven puts beyond the last
// ack (an ack for every put measures the acks, not the store: about half
// the rate). It returns how long storing them took: the KV put ceiling of
// this server.
func putAll(ctx context.Context, js jetstream.JetStream, w membership.WriteCount) (time.Duration, error) {
	m, err := kvmodel.Create(ctx, js, kvCeilingGeneration, kvmodel.Options{})
	if err != nil {
		return 0, err
	}
	defer func() { _ = js.DeleteKeyValue(context.Background(), m.Bucket()) }()
	n := int(w.Messages)
	keyLen := max(int(w.KeyBytes/w.Messages), 12)
	val := bytes.Repeat([]byte{'v'}, int(w.ValueBytes/w.Messages))
	pre := "$KV." + m.Bucket() + "."
	keys := make([]string, n)
	for i := range keys {
		k := "k." + strconv.Itoa(i)
		keys[i] = pre + k + strings.Repeat("x", max(keyLen-len(k), 0))
	}
	nc := js.Conn()
	type sent struct {
		f   jetstream.PubAckFuture
		seq uint64
	}
	var out []sent
	oldest := func() error {
		s := out[0]
		out = out[1:]
		select {
		case ack := <-s.f.Ok():
			if ack.Sequence != s.seq {
				return fmt.Errorf("put %d stored at %d: puts were dropped", s.seq, ack.Sequence)
			}
			return nil
		case err := <-s.f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t0 := time.Now()
	for i, k := range keys {
		msg := nats.NewMsg(k)
		msg.Data = val
		seq := uint64(i) + 1 // one writer on an empty bucket
		if i%kvAckEvery == kvAckEvery-1 || i == n-1 {
			f, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(kvmodel.WriteTimeout))
			if err != nil {
				return 0, err
			}
			out = append(out, sent{f: f, seq: seq})
			for len(out) > 0 && seq-out[0].seq >= kvMaxUnproven {
				if err := oldest(); err != nil {
					return 0, err
				}
			}
		} else if err := nc.PublishMsg(msg); err != nil {
			return 0, err
		}
	}
	for len(out) > 0 {
		if err := oldest(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// The KV baseline's flow control: the rebuild's bulk writer's defaults.
const (
	kvAckEvery    = 256
	kvMaxUnproven = 16384
)

// kvCeilingGeneration numbers the KV baseline's bucket, far from the
// generations the probe's rebuild uses.
const kvCeilingGeneration = 1_000_000

// fillStream generates the probe's history on 2 connections in parallel
// (generation is CPU work; publishing is async).
func fillStream(ctx context.Context, url string, o rebuildOptions) error {
	groupsN := (o.Events + o.EventsPerGroup - 1) / o.EventsPerGroup
	t0 := time.Now()
	h := &history{at: time.Now().UTC()}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, js, err := connect(url, "rosterbench-fill")
			if err != nil {
				errs[w] = err
				return
			}
			defer nc.Close()
			for ctx.Err() == nil {
				g := int(next.Add(1)) - 1
				if g >= groupsN {
					return
				}
				n := min(o.EventsPerGroup, o.Events-g*o.EventsPerGroup)
				commits, err := h.group(fmt.Sprintf("rb-%06d", g), 10, n)
				if err == nil {
					err = appendAsync(ctx, js, commits)
				}
				if err != nil {
					errs[w] = err
					return
				}
				if step := groupsN / 5; step > 0 && (g+1)%step == 0 {
					progress("rebuild: filled %d/%d groups", g+1, groupsN)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("fill %s: %w", events.StreamName, err)
		}
	}
	progress("rebuild: filled in %s", time.Since(t0).Round(time.Millisecond))
	return ctx.Err()
}

// readAll reads n messages of the stream with an ordered consumer, the
// fastest plain read JetStream offers, touching each body once.
func readAll(ctx context.Context, stream jetstream.Stream, n uint64) (int, error) {
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	read := 0
	for uint64(read) < n {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return read, err
		}
		_ = m.Data()
		read++
	}
	return read, nil
}
