package eventstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/eventstore/storetest"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// appendRetrying appends c, repeating it (same command, same expected
// sequence) when an attempt fails as unavailable: a request written just as
// the client's node went away is lost, and a stream whose leader was just
// elected may not have its interest known on the client's node yet (no
// response from stream); a caller's retry is how Roster's clients recover.
// A repeat of a stored append is recognised by its message id.
func appendRetrying(ctx context.Context, t *testing.T, s *eventstore.Store, c events.Commit, expected uint64) uint64 {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := s.Append(actx, c, expected)
		cancel()
		if err == nil {
			return r.Seq
		}
		if !natsx.Unavailable(err) || ctx.Err() != nil {
			t.Fatalf("append v%d: %v", c.LastVersion(), err)
		}
		// A no-responders answer comes at once; pace the retries.
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// A node that restarts serves direct gets once it is 90% caught up, and a
// client attached to it is answered by it first; even a caught-up follower
// applies a commit after the leader acknowledged it. Loads through that
// client, each right after another client's append, must still see every
// commit the leader acknowledged: the leader's last sequence bounds the
// load, and what the replica lacks is read from the leader.
func TestLoadThroughRestartedReplicaSeesEveryAcknowledgedCommit(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	stream := provisionReplicated(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	writer, err := eventstore.Open(c.JS, stream, eventstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const group = "rejoin"
	var last uint64
	version := uint64(0)
	appendTo := func(n int) {
		for range n {
			version++
			last = appendRetrying(ctx, t, writer, storetest.Commit(group, fmt.Sprintf("c%d", version), version), last)
		}
	}
	appendTo(20)
	c.WaitStreamCurrent(t, events.StreamName, 30*time.Second)

	follower := (c.StreamLeader(t, events.StreamName, 30*time.Second) + 1) % c.Size()
	c.Stop(follower)
	// While it is down the group grows, and the stream much more, so the
	// node has a long way to catch up when it returns.
	appendTo(100)
	filler := make([]byte, 512)
	for i := range 3_000 {
		if _, err := c.JS.PublishAsync(events.Subject(fmt.Sprintf("filler-%d", i%500)), filler); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			select {
			case <-c.JS.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal("filler not acknowledged")
			}
		}
	}
	appendTo(10) // the newest commits, the ones a lagging replica lacks

	c.Restart(t, follower)
	nc, err := nats.Connect(c.NodeURL(follower), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := eventstore.Open(js, stream, eventstore.Config{BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	// What the old reads saw: nats.go's direct get of a subject's last
	// message, which the local replica answers once it serves direct gets.
	lastDirect := func() (uint64, error) {
		m, err := nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+events.StreamName+"."+events.Subject(group), nil)
		if err != nil {
			return 0, err
		}
		return strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	}

	// Other groups keep the stream busy: an append is acknowledged once a
	// majority stored it, so the third replica may trail behind.
	fnc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer fnc.Close()
	fjs, err := jetstream.New(fnc)
	if err != nil {
		t.Fatal(err)
	}
	fillCtx, stopFill := context.WithCancel(ctx)
	fillDone := make(chan struct{})
	go func() {
		defer close(fillDone)
		body := make([]byte, 256)
		for i := 0; fillCtx.Err() == nil; i++ {
			_, err := fjs.PublishAsync(events.Subject(fmt.Sprintf("busy-%d", i%100)), body)
			if err != nil || i%100 == 99 { // at most 100 in flight
				select {
				case <-fjs.PublishAsyncComplete():
				case <-fillCtx.Done():
				}
			}
		}
	}()
	defer func() { stopFill(); <-fillDone }()

	loads, staleDirect := 0, 0
	for {
		// The writer's commit is acknowledged by the leader; the load that
		// follows, through the restarted node, must include it (as a
		// member.remove must see the invitation acknowledged before it).
		appendTo(1 + loads%3)
		wantCommits := version
		if seq, err := lastDirect(); err != nil || seq != last {
			staleDirect++
		}
		n := uint64(0)
		got, err := reader.Load(ctx, group, 0, func(s eventstore.Stored) error {
			n++
			if s.Commit.LastVersion() != n {
				return fmt.Errorf("commit %d has version %d", n, s.Commit.LastVersion())
			}
			return nil
		})
		if err != nil {
			t.Fatalf("load %d: %v", loads, err)
		}
		if got != last || n != wantCommits {
			t.Fatalf("load %d: %d commits up to %d, the leader acknowledged %d up to %d", loads, n, got, wantCommits, last)
		}
		if seq, err := reader.LastSeq(ctx, group); err != nil || seq != last {
			t.Fatalf("load %d: last seq %d %v, want %d", loads, seq, err, last)
		}
		if st, err := reader.Get(ctx, last); err != nil || st.Commit.LastVersion() != wantCommits {
			t.Fatalf("load %d: get %d: %+v %v", loads, last, st, err)
		}
		loads++
		if loads == 15 {
			break
		}
	}
	st := reader.Stats()
	t.Logf("%d loads through the restarted node, all complete; the replica was behind in %d direct batches (continued from the leader); %d direct last-message gets (the old read) were stale or failed",
		loads, st.ReplicaBehind, staleDirect)
}

// A mirror with MirrorDirect answers direct gets of the stream it mirrors,
// and may be filtered or start late: it need not hold a prefix of a group.
// Loads must ignore it and stay complete.
func TestLoadIgnoresDirectMirrors(t *testing.T) {
	tests := []struct {
		name   string
		mirror jetstream.StreamSource
		holds  uint64 // messages the mirror holds once caught up
	}{
		// The mirror serves direct gets once it has received a message
		// (with fewer than 10 pending): the commit to "elsewhere".
		{"filtered mirror", jetstream.StreamSource{Name: events.StreamName, FilterSubject: events.Subject("elsewhere")}, 1},
		{"mirror starting late", jetstream.StreamSource{Name: events.StreamName, OptStartSeq: 40}, 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natstest.Start(t)
			ctx := context.Background()
			stream, err := eventstore.Provision(ctx, srv.JS, eventstore.StreamConfig{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := eventstore.Open(srv.JS, stream, eventstore.Config{BatchSize: 8})
			if err != nil {
				t.Fatal(err)
			}
			const group, n = "mirrored", 100
			var last uint64
			for v := uint64(1); v <= n; v++ {
				r, err := st.Append(ctx, storetest.Commit(group, fmt.Sprintf("c%d", v), v), last)
				if err != nil {
					t.Fatal(err)
				}
				last = r.Seq
			}
			mirror := tt.mirror
			if _, err := srv.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "ROSTER_EVENTS_READS", Mirror: &mirror, MirrorDirect: true, AllowDirect: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Append(ctx, storetest.Commit("elsewhere", "c1", 1), 0); err != nil {
				t.Fatal(err)
			}
			natstest.Eventually(t, 10*time.Second, func() error {
				m, err := srv.JS.Stream(ctx, "ROSTER_EVENTS_READS")
				if err != nil {
					return err
				}
				if have := m.CachedInfo().State.Msgs; have != tt.holds {
					return fmt.Errorf("mirror holds %d messages, want %d", have, tt.holds)
				}
				return nil
			})
			for i := range 30 {
				k := uint64(0)
				got, err := st.Load(ctx, group, 0, func(s eventstore.Stored) error {
					k++
					if s.Commit.LastVersion() != k {
						return fmt.Errorf("commit %d has version %d", k, s.Commit.LastVersion())
					}
					return nil
				})
				if err != nil || k != n || got != last {
					t.Fatalf("load %d: %d commits up to %d (%v), want %d up to %d", i, k, got, err, n, last)
				}
			}
			// The mirror answered some batches (the direct-get group picks
			// at random), and each was replaced by reads from the leader.
			if s := st.Stats(); s.ReplicaBehind == 0 {
				t.Fatalf("the mirror answered no batch in 30 loads: %+v", s)
			}
			t.Logf("%+v", st.Stats())
		})
	}
}
