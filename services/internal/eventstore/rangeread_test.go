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

func TestReadSingleServer(t *testing.T) {
	srv := natstest.Start(t)
	stream, err := eventstore.Provision(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	runReadCases(t, srv.JS, stream)
}

func TestReadReplicatedCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	runReadCases(t, c.JS, provisionReplicated(t, c))
}

// rangeEnv is one stream under test with the groups the cases read.
type rangeEnv struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	store  *eventstore.Store
}

// appendGroup appends versions 1..n to group and returns their sequences.
func (env rangeEnv) appendGroup(t *testing.T, group string, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	var last uint64
	for v := 1; v <= n; v++ {
		r, err := env.store.Append(context.Background(), storetest.Commit(group, fmt.Sprintf("c%d", v), uint64(v)), last)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Seq
		seqs = append(seqs, last)
	}
	return seqs
}

// read collects the sequences Read hands over.
func (env rangeEnv) read(t *testing.T, r eventstore.Range) ([]uint64, []eventstore.Stored) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seqs []uint64
	var got []eventstore.Stored
	if err := env.store.Read(ctx, r, func(st eventstore.Stored) error {
		seqs = append(seqs, st.Seq)
		got = append(got, st)
		return nil
	}); err != nil {
		t.Fatalf("read %+v: %v", r, err)
	}
	return seqs, got
}

// noConsumersLeft checks that a finished read deleted its consumer.
func (env rangeEnv) noConsumersLeft(t *testing.T) {
	t.Helper()
	natstest.Eventually(t, 10*time.Second, func() error {
		info, err := env.stream.Info(context.Background())
		if err != nil {
			return err
		}
		if n := info.State.Consumers; n != 0 {
			return fmt.Errorf("%d consumers left on the stream", n)
		}
		return nil
	})
}

func runReadCases(t *testing.T, js jetstream.JetStream, stream jetstream.Stream) {
	store, err := eventstore.Open(js, stream, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	env := rangeEnv{js: js, stream: stream, store: store}
	a := env.appendGroup(t, "range-a", 5)
	b := env.appendGroup(t, "range-b", 3)

	t.Run("GroupToTheEnd", func(t *testing.T) {
		have, got := env.read(t, eventstore.Range{GroupID: "range-a"})
		if !slices.Equal(have, a) {
			t.Fatalf("want %v, have %v", a, have)
		}
		for i, st := range got {
			if st.Commit.GroupID != "range-a" || st.Commit.LastVersion() != uint64(i+1) || st.Time.IsZero() {
				t.Fatalf("commit %d: %+v", i, st)
			}
		}
		env.noConsumersLeft(t)
	})
	t.Run("GroupFromTo", func(t *testing.T) {
		have, _ := env.read(t, eventstore.Range{GroupID: "range-a", FromSeq: a[1], ToSeq: a[3]})
		if want := a[1:4]; !slices.Equal(have, want) {
			t.Fatalf("want %v, have %v", want, have)
		}
		// Bounds between the group's commits select the ones inside.
		have, _ = env.read(t, eventstore.Range{GroupID: "range-a", FromSeq: a[1] + 1, ToSeq: b[0]})
		if want := a[2:]; !slices.Equal(have, want) {
			t.Fatalf("want %v, have %v", want, have)
		}
	})
	t.Run("WholeStream", func(t *testing.T) {
		have, _ := env.read(t, eventstore.Range{FromSeq: a[0], ToSeq: b[len(b)-1]})
		want := slices.Sorted(slices.Values(append(slices.Clone(a), b...)))
		if !slices.Equal(have, want) {
			t.Fatalf("want %v, have %v", want, have)
		}
		env.noConsumersLeft(t)
	})
	t.Run("EmptyRangesReturnAtOnce", func(t *testing.T) {
		for _, r := range []eventstore.Range{
			{GroupID: "range-none"},
			{GroupID: "range-a", FromSeq: a[4] + 1},
			{GroupID: "range-b", ToSeq: b[0] - 1},
			{Since: time.Now().Add(time.Hour)},
		} {
			if have, _ := env.read(t, r); len(have) != 0 {
				t.Fatalf("%+v: want nothing, have %v", r, have)
			}
		}
		env.noConsumersLeft(t)
	})
	t.Run("Since", func(t *testing.T) {
		_, all := env.read(t, eventstore.Range{GroupID: "range-a"})
		have, _ := env.read(t, eventstore.Range{GroupID: "range-a", Since: all[2].Time})
		// Commits stored within the same instant may precede it.
		if len(have) < 3 || have[len(have)-1] != a[4] || !slices.Contains(have, a[2]) {
			t.Fatalf("since %s: want from %d up to %d, have %v", all[2].Time, a[2], a[4], have)
		}
	})
	t.Run("StopRead", func(t *testing.T) {
		n := 0
		err := env.store.Read(context.Background(), eventstore.Range{GroupID: "range-a"}, func(eventstore.Stored) error {
			n++
			if n == 2 {
				return eventstore.StopRead
			}
			return nil
		})
		if err != nil || n != 2 {
			t.Fatalf("want 2 commits and no error, have %d, %v", n, err)
		}
		env.noConsumersLeft(t)
	})
	t.Run("InvalidRange", func(t *testing.T) {
		for _, r := range []eventstore.Range{
			{GroupID: "range.*"},
			{FromSeq: 3, Since: time.Now()},
			{Follow: true, ToSeq: 3},
			{FromSeq: 5, ToSeq: 4},
		} {
			err := env.store.Read(context.Background(), r, func(eventstore.Stored) error { return nil })
			if err == nil {
				t.Fatalf("%+v: read", r)
			}
		}
	})
	t.Run("UpcastUnlessAsStored", func(t *testing.T) {
		c := events.Commit{CommandID: "mute", Command: "mute", GroupID: "range-up", Events: []events.Event{mutedV1(1)}}
		c.Events[0].GroupID = "range-up"
		if _, err := env.store.Append(context.Background(), c, 0); err != nil {
			t.Fatal(err)
		}
		_, up := env.read(t, eventstore.Range{GroupID: "range-up"})
		_, raw := env.read(t, eventstore.Range{GroupID: "range-up", AsStored: true})
		if len(up) != 1 || len(raw) != 1 || up[0].Commit.Events[0].SchemaVersion != 2 || raw[0].Commit.Events[0].SchemaVersion != 1 {
			t.Fatalf("want v2 upcast and v1 as stored, have %+v and %+v", up, raw)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		ctx := context.Background()
		bad, err := js.Publish(ctx, events.Subject("range-bad"), []byte(`{"group_id":"range-bad"}`))
		if err != nil {
			t.Fatal(err)
		}
		r, err := env.store.Append(ctx, storetest.Commit("range-bad", "c1", 1), bad.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		good := []uint64{r.Seq}
		err = env.store.Read(ctx, eventstore.Range{GroupID: "range-bad"}, func(eventstore.Stored) error { return nil })
		if !errors.Is(err, eventstore.ErrMalformed) {
			t.Fatalf("want ErrMalformed, have %v", err)
		}
		var skipped []uint64
		var have []uint64
		err = env.store.Read(ctx, eventstore.Range{GroupID: "range-bad", OnError: func(seq uint64, err error) error {
			skipped = append(skipped, seq)
			return nil
		}}, func(st eventstore.Stored) error {
			have = append(have, st.Seq)
			return nil
		})
		if err != nil || !slices.Equal(skipped, []uint64{bad.Sequence}) || !slices.Equal(have, good) {
			t.Fatalf("want %d skipped and %v read, have %v, %v, %v", bad.Sequence, good, skipped, have, err)
		}
		env.noConsumersLeft(t)
	})
	t.Run("Follow", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		seen := make(chan uint64, 16)
		done := make(chan error, 1)
		go func() {
			done <- env.store.Read(ctx, eventstore.Range{GroupID: "range-follow", Follow: true}, func(st eventstore.Stored) error {
				seen <- st.Seq
				return nil
			})
		}()
		want := env.appendGroup(t, "range-follow", 3)
		for _, w := range want {
			select {
			case have := <-seen:
				if have != w {
					t.Fatalf("want %d, have %d", w, have)
				}
			case <-ctx.Done():
				t.Fatal("follow read saw no commit")
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("follow read ended with %v", err)
		}
		env.noConsumersLeft(t)
	})
}
