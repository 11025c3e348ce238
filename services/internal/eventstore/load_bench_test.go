package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/eventstore/storetest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// loadOrdered is the load Roster had before docs/adr/0006, kept as the
// baseline: the subject's last sequence by a (direct) get, then an ordered
// consumer from afterSeq+1. Each call creates a consumer the server keeps
// for its inactive threshold.
func loadOrdered(ctx context.Context, stream jetstream.Stream, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error) {
	m, err := stream.GetLastMsgForSubject(ctx, events.Subject(groupID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return afterSeq, nil
	}
	if err != nil {
		return afterSeq, err
	}
	last := m.Sequence
	if last <= afterSeq {
		return afterSeq, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.Subject(groupID)},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    afterSeq + 1,
	})
	if err != nil {
		return afterSeq, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return afterSeq, err
	}
	defer it.Stop()
	seen := afterSeq
	for seen < last {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return seen, err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return seen, err
		}
		c, err := eventstore.DecodeCommit(msg.Data())
		if err != nil {
			return seen, err
		}
		if err := fn(eventstore.Stored{Seq: meta.Sequence.Stream, Commit: c}); err != nil {
			return seen, err
		}
		seen = meta.Sequence.Stream
	}
	return seen, nil
}

// BenchmarkColdLoad loads a 1,000-commit group from scratch (what a
// process does for a group it has not cached), interleaved with another
// group's commits as on a busy stream, with the old ordered consumer and
// with batched direct reads of several sizes. Each iteration runs every
// variant once, in turn, so that load from other processes on the machine
// falls on all of them alike; the figures are medians per load.
//
//	go test -run '^$' -bench ColdLoad -benchtime 50x ./internal/eventstore/
func BenchmarkColdLoad(b *testing.B) {
	const commits = 1000
	srv := natstest.Start(b)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	st := eventstore.New(srv.JS, stream)
	var last, other uint64
	for v := uint64(1); v <= commits; v++ {
		r, err := st.Append(ctx, storetest.Commit("big", fmt.Sprintf("c%d", v), v), last)
		if err != nil {
			b.Fatal(err)
		}
		last = r.Seq
		o, err := st.Append(ctx, storetest.Commit("noise", fmt.Sprintf("c%d", v), v), other)
		if err != nil {
			b.Fatal(err)
		}
		other = o.Seq
	}
	type variant struct {
		name  string
		after uint64 // 0: cold load; last-2: catch-up of one commit
		load  func(ctx context.Context, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error)
		took  []time.Duration
	}
	ordered := func(ctx context.Context, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error) {
		return loadOrdered(ctx, stream, groupID, afterSeq, fn)
	}
	variants := []*variant{{name: "ordered-consumer", load: ordered}}
	for _, batch := range []int{32, 64, 128, 256} {
		s, err := eventstore.Open(srv.JS, stream, eventstore.Config{BatchSize: batch})
		if err != nil {
			b.Fatal(err)
		}
		variants = append(variants, &variant{name: fmt.Sprintf("batched-%d", batch), load: s.Load})
	}
	// A catch-up after a conflict: one commit is new (the group's commits
	// are every other sequence).
	variants = append(variants,
		&variant{name: "catchup1-ordered-consumer", after: last - 2, load: ordered},
		&variant{name: "catchup1-batched", after: last - 2, load: st.Load})
	for b.Loop() {
		for _, v := range variants {
			n := 0
			start := time.Now()
			got, err := v.load(ctx, "big", v.after, func(eventstore.Stored) error { n++; return nil })
			v.took = append(v.took, time.Since(start))
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			want := commits
			if v.after > 0 {
				want = 1
			}
			if n != want || got != last {
				b.Fatalf("%s: loaded %d commits up to %d, want %d up to %d", v.name, n, got, want, last)
			}
		}
	}
	for _, v := range variants {
		slices.Sort(v.took)
		b.ReportMetric(float64(v.took[len(v.took)/2].Microseconds())/1000, v.name+"-ms")
	}
	info, err := stream.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.State.Consumers), "consumers-left")
}
