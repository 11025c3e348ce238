// Package storetest is the contract of Roster's event-store port: one suite
// of named cases that every implementation, and every topology an
// implementation runs on (a single server, a replicated stream on a
// cluster), must pass. A test calls Run with a factory for the store under
// test:
//
//	storetest.Run(t, func(t *testing.T, batchSize int) storetest.Backend { ... })
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// Store is the port under test: what the command side uses
// (groups.EventStore) and LastSeq.
type Store interface {
	Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error)
	Load(ctx context.Context, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error)
	Get(ctx context.Context, seq uint64) (eventstore.Stored, error)
	LastSeq(ctx context.Context, groupID string) (uint64, error)
}

// Backend is one store under test and what the suite inspects beside it.
type Backend struct {
	Store Store
	// Consumers reports how many consumers the store's stream has. Reads
	// must not add any: loads from many processes would pile them up.
	Consumers func(ctx context.Context) (int, error)
}

// Factory returns a store whose reads ask for at most batchSize commits at
// a time. Stores from one factory may share a stream: every case writes to
// group ids of its own.
type Factory func(t *testing.T, batchSize int) Backend

// Case is one named check of the contract.
type Case struct {
	Name string
	Run  func(t *testing.T, newStore Factory)
}

// DefaultBatch is the batch size cases use unless they test batching.
const DefaultBatch = 128

// Cases is the contract, in the order Run runs it.
var Cases = []Case{
	{"AppendChecksExpectedSequence", testAppendChecksExpectedSequence},
	{"ConcurrentAppendsOneWins", testConcurrentAppendsOneWins},
	{"RetryByCommandIDIsDuplicate", testRetryIsDuplicate},
	{"LoadEmptyGroup", testLoadEmptyGroup},
	{"LoadAfterReturnsNewerCommitsInOrder", testLoadAfter},
	{"LoadAcrossManyBatches", testLoadAcrossBatches},
	{"LoadStopsOnCallbackError", testLoadStopsOnCallbackError},
	{"LoadRefusesWildcardGroup", testLoadRefusesWildcardGroup},
	{"GetReadsOneCommit", testGet},
	{"ReadAfterWrite", testReadAfterWrite},
	{"ManyGroups", testManyGroups},
	{"LoadsCreateNoConsumer", testLoadsCreateNoConsumer},
}

// Run runs every case as a subtest.
func Run(t *testing.T, newStore Factory) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, newStore) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// groupID returns a group id no other case or run uses.
func groupID(name string) string {
	return fmt.Sprintf("%s-%016x", name, rand.Uint64())
}

// Commit returns a one-event commit of group at version, named cmd.
func Commit(group, cmd string, version uint64) events.Commit {
	return events.Commit{CommandID: cmd, Command: "member.join", GroupID: group, Events: []events.Event{{
		ID: fmt.Sprintf("%s-%d", group, version), Type: events.MemberJoined, SchemaVersion: 1, GroupID: group,
		Version: version, OccurredAt: time.Unix(1_700_000_000, 0).UTC(), CommandID: cmd, Actor: "u",
		Data: []byte(fmt.Sprintf(`{"user_id":"u%d"}`, version)),
	}}}
}

// appendN appends versions 1..n to group and returns their sequences.
func appendN(t *testing.T, ctx context.Context, s Store, group string, n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, n)
	var last uint64
	for v := 1; v <= n; v++ {
		res, err := s.Append(ctx, Commit(group, fmt.Sprintf("c%d", v), uint64(v)), last)
		if err != nil {
			t.Fatalf("append %s v%d at %d: %v", group, v, last, err)
		}
		if res.Duplicate || res.Seq <= last {
			t.Fatalf("append %s v%d: %+v after %d", group, v, res, last)
		}
		last = res.Seq
		seqs = append(seqs, last)
	}
	return seqs
}

// loadAll loads group after afterSeq and returns what fn saw.
func loadAll(t *testing.T, ctx context.Context, s Store, group string, afterSeq uint64) (seen []eventstore.Stored, last uint64) {
	t.Helper()
	last, err := s.Load(ctx, group, afterSeq, func(st eventstore.Stored) error {
		seen = append(seen, st)
		return nil
	})
	if err != nil {
		t.Fatalf("load %s after %d: %v", group, afterSeq, err)
	}
	return seen, last
}

// checkLoaded fails unless seen are exactly the commits at seqs, versions
// firstVersion.., in order, and last is the final sequence.
func checkLoaded(t *testing.T, group string, seen []eventstore.Stored, last uint64, seqs []uint64, firstVersion uint64, afterSeq uint64) {
	t.Helper()
	if len(seen) != len(seqs) {
		t.Fatalf("loaded %d commits of %s, want %d", len(seen), group, len(seqs))
	}
	for i, st := range seen {
		if st.Seq != seqs[i] || st.Commit.GroupID != group || st.Commit.LastVersion() != firstVersion+uint64(i) {
			t.Fatalf("commit %d of %s: seq %d version %d group %s, want seq %d version %d", i, group, st.Seq, st.Commit.LastVersion(), st.Commit.GroupID, seqs[i], firstVersion+uint64(i))
		}
	}
	want := afterSeq
	if len(seqs) > 0 {
		want = seqs[len(seqs)-1]
	}
	if last != want {
		t.Fatalf("load of %s returned last %d, want %d", group, last, want)
	}
}

func wantConflict(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("%s: want ErrConflict, have %v", what, err)
	}
	// JetStream reports the conflict as 10071, or 10164 on replicated
	// streams; either must have become ErrConflict, and nothing else may.
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence && apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant {
		t.Fatalf("%s: ErrConflict from JetStream error %d", what, apiErr.ErrorCode)
	}
}

func testAppendChecksExpectedSequence(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	a, b := groupID("a"), groupID("b")
	r1, err := s.Append(ctx, Commit(a, "c1", 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Another group's append moves the stream, not a's subject.
	if _, err := s.Append(ctx, Commit(b, "c1", 1), 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(ctx, Commit(a, "c2", 1), 0)
	wantConflict(t, err, "second first append")
	_, err = s.Append(ctx, Commit(a, "c2", 2), r1.Seq+1_000_000)
	wantConflict(t, err, "expected sequence ahead of the subject")
	r2, err := s.Append(ctx, Commit(a, "c2", 2), r1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(ctx, Commit(a, "c3", 3), r1.Seq)
	wantConflict(t, err, "stale expected sequence")
	if last, err := s.LastSeq(ctx, a); err != nil || last != r2.Seq {
		t.Fatalf("last seq of a: %d %v, want %d", last, err, r2.Seq)
	}
}

func testConcurrentAppendsOneWins(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g := groupID("race")
	base := appendN(t, ctx, s, g, 1)[0]
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Append(ctx, Commit(g, fmt.Sprintf("racer%d", i), 2), base)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantConflict(t, err, fmt.Sprintf("racer %d", i))
	}
	if won != 1 {
		t.Fatalf("%d of %d appends at the same expected sequence won, want 1", won, n)
	}
}

func testRetryIsDuplicate(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g := groupID("retry")
	first := appendN(t, ctx, s, g, 1)[0]
	c := Commit(g, "c2", 2)
	r, err := s.Append(ctx, c, first)
	if err != nil {
		t.Fatal(err)
	}
	// A process that reloaded the group (expecting the subject's last
	// sequence) learns the command is stored and where.
	dup, err := s.Append(ctx, c, r.Seq)
	if err != nil || !dup.Duplicate || dup.Seq != r.Seq {
		t.Fatalf("retry at the last sequence: %+v %v, want duplicate at %d", dup, err, r.Seq)
	}
	// A caller that timed out retries with its original expected sequence.
	// A replicated stream checks the message id first (Duplicate), a
	// single server the expected sequence first (ErrConflict, after which
	// the caller's reload finds the commit). Either way nothing is stored
	// twice.
	dup, err = s.Append(ctx, c, first)
	switch {
	case err == nil && (!dup.Duplicate || dup.Seq != r.Seq):
		t.Fatalf("retry at the original sequence: %+v, want duplicate at %d", dup, r.Seq)
	case err != nil:
		wantConflict(t, err, "retry at the original sequence")
	}
	seen, _ := loadAll(t, ctx, s, g, 0)
	if len(seen) != 2 || seen[1].Seq != r.Seq {
		t.Fatalf("group holds %d commits after retries, want 2", len(seen))
	}
}

func testLoadEmptyGroup(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g := groupID("empty")
	seen, last := loadAll(t, ctx, s, g, 0)
	if len(seen) != 0 || last != 0 {
		t.Fatalf("empty group: %d commits, last %d", len(seen), last)
	}
	if n, err := s.LastSeq(ctx, g); err != nil || n != 0 {
		t.Fatalf("empty group: last seq %d %v", n, err)
	}
	// After a sequence, an empty group returns that sequence untouched.
	if _, last := loadAll(t, ctx, s, g, 42); last != 42 {
		t.Fatalf("empty group after 42: last %d", last)
	}
}

func testLoadAfter(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g, other := groupID("after"), groupID("other")
	var seqs []uint64
	var last, otherLast uint64
	// Interleave another group so the group's sequences have gaps.
	for v := uint64(1); v <= 10; v++ {
		r, err := s.Append(ctx, Commit(g, fmt.Sprintf("c%d", v), v), last)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Seq
		seqs = append(seqs, last)
		o, err := s.Append(ctx, Commit(other, fmt.Sprintf("c%d", v), v), otherLast)
		if err != nil {
			t.Fatal(err)
		}
		otherLast = o.Seq
	}
	for _, k := range []int{0, 1, 4, 9, 10} {
		after := uint64(0)
		if k > 0 {
			after = seqs[k-1]
		}
		seen, got := loadAll(t, ctx, s, g, after)
		checkLoaded(t, g, seen, got, seqs[k:], uint64(k)+1, after)
	}
	// A sequence between two of the group's commits (another group's).
	seen, got := loadAll(t, ctx, s, g, seqs[3]+1)
	checkLoaded(t, g, seen, got, seqs[4:], 5, seqs[3]+1)
}

func testLoadAcrossBatches(t *testing.T, newStore Factory) {
	// 300 commits in batches of 16: many full batches and a short last one.
	ctx, s := ctxFor(t), newStore(t, 16).Store
	g := groupID("batches")
	seqs := appendN(t, ctx, s, g, 300)
	seen, last := loadAll(t, ctx, s, g, 0)
	checkLoaded(t, g, seen, last, seqs, 1, 0)
	// From the middle of a batch.
	seen, last = loadAll(t, ctx, s, g, seqs[124])
	checkLoaded(t, g, seen, last, seqs[125:], 126, seqs[124])
}

func testLoadStopsOnCallbackError(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, 4).Store
	g := groupID("stop")
	seqs := appendN(t, ctx, s, g, 20)
	stop := errors.New("stop here")
	calls := 0
	last, err := s.Load(ctx, g, 0, func(st eventstore.Stored) error {
		calls++
		if calls == 7 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("want the callback's error, have %v", err)
	}
	// The returned sequence is the last commit fn accepted: a caller can
	// resume from it.
	if calls != 7 || last != seqs[5] {
		t.Fatalf("stopped after %d calls at %d, want 7 calls and last %d", calls, last, seqs[5])
	}
}

func testLoadRefusesWildcardGroup(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	appendN(t, ctx, s, groupID("wild"), 2)
	for _, g := range []string{"*", ">", "wild.x", ""} {
		called := false
		_, err := s.Load(ctx, g, 0, func(eventstore.Stored) error { called = true; return nil })
		if !errors.Is(err, eventstore.ErrInvalidGroup) || called {
			t.Fatalf("load %q: %v (called %v), want ErrInvalidGroup and no commit", g, err, called)
		}
	}
}

func testGet(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g := groupID("get")
	seqs := appendN(t, ctx, s, g, 3)
	st, err := s.Get(ctx, seqs[1])
	if err != nil {
		t.Fatal(err)
	}
	if st.Seq != seqs[1] || st.Commit.GroupID != g || st.Commit.CommandID != "c2" || st.Commit.LastVersion() != 2 {
		t.Fatalf("get %d: %+v", seqs[1], st)
	}
	if _, err := s.Get(ctx, seqs[2]+1_000_000); !errors.Is(err, eventstore.ErrNotFound) {
		t.Fatalf("get past the end: want ErrNotFound, have %v", err)
	}
}

func testReadAfterWrite(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, DefaultBatch).Store
	g := groupID("raw")
	var last uint64
	for v := uint64(1); v <= 50; v++ {
		r, err := s.Append(ctx, Commit(g, fmt.Sprintf("c%d", v), v), last)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.LastSeq(ctx, g); err != nil || n != r.Seq {
			t.Fatalf("v%d: last seq %d %v right after the append at %d", v, n, err, r.Seq)
		}
		if st, err := s.Get(ctx, r.Seq); err != nil || st.Commit.LastVersion() != v {
			t.Fatalf("v%d: get %d right after the append: %+v %v", v, r.Seq, st, err)
		}
		// Load from two back: it must include the commit just appended.
		after := uint64(0)
		if v > 2 {
			after = last - 1
		}
		seen, got := loadAll(t, ctx, s, g, after)
		if got != r.Seq || len(seen) == 0 || seen[len(seen)-1].Commit.LastVersion() != v {
			t.Fatalf("v%d: load after %d ended at %d with %d commits, want the append at %d", v, after, got, len(seen), r.Seq)
		}
		last = r.Seq
	}
}

func testManyGroups(t *testing.T, newStore Factory) {
	ctx, s := ctxFor(t), newStore(t, 3).Store
	const groups, each = 40, 12
	ids := make([]string, groups)
	seqs := make([][]uint64, groups)
	for i := range ids {
		ids[i] = groupID(fmt.Sprintf("many%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, groups)
	for i := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for v := uint64(1); v <= each; v++ {
				r, err := s.Append(ctx, Commit(ids[i], fmt.Sprintf("c%d", v), v), last)
				if err != nil {
					errs[i] = err
					return
				}
				last = r.Seq
				seqs[i] = append(seqs[i], last)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, g := range ids {
		seen, last := loadAll(t, ctx, s, g, 0)
		checkLoaded(t, g, seen, last, seqs[i], 1, 0)
	}
}

func testLoadsCreateNoConsumer(t *testing.T, newStore Factory) {
	ctx, b := ctxFor(t), newStore(t, 2)
	before, err := b.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := groupID("noconsumer")
	seqs := appendN(t, ctx, b.Store, g, 30)
	// Cold loads, catch-ups of every length and loads of absent groups,
	// from many goroutines, as busy command processes do.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				after := uint64(0)
				if k := (w + i) % len(seqs); k > 0 {
					after = seqs[k-1]
				}
				if _, err := b.Store.Load(ctx, g, after, func(eventstore.Stored) error { return nil }); err != nil {
					errs <- err
					return
				}
				if _, err := b.Store.Load(ctx, groupID("absent"), 0, func(eventstore.Stored) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after, err := b.Consumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("stream consumers went from %d to %d over 160 loads", before, after)
	}
}
