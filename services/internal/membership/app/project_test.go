package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/memmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// The fold-and-store use case against the in-memory read model: the same
// path the projector runs on NATS (package membership's crash, restart and
// rebuild tests run it against a real server).

// delivery is an in-memory app.Delivery that records what became of it.
type delivery struct {
	seq    uint64
	c      events.Commit
	acked  bool
	nacked time.Duration
}

func (d *delivery) Seq() uint64                    { return d.seq }
func (d *delivery) Pending() uint64                { return 0 }
func (d *delivery) Commit() (events.Commit, error) { return d.c, nil }
func (d *delivery) Ack()                           { d.acked = true }
func (d *delivery) Nak(delay time.Duration)        { d.nacked = delay }

// decide appends cmd's commit to h, deciding it on st.
func decide(t *testing.T, h *history, st *group.State, cmd group.Command) {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	changes, err := group.Decide(st, "o", cmd, at)
	if err != nil {
		t.Fatal(err)
	}
	c := events.Commit{CommandID: "c", Command: cmd.Kind(), GroupID: st.ID}
	for _, ch := range changes {
		data, err := json.Marshal(ch.Data)
		if err != nil {
			t.Fatal(err)
		}
		e := events.Event{ID: "e", Type: ch.Type, SchemaVersion: 1, GroupID: st.ID, Version: st.Version + 1, OccurredAt: at, Actor: "o", Data: data}
		if _, err := st.Apply(e); err != nil {
			t.Fatal(err)
		}
		c.Events = append(c.Events, e)
	}
	h.commits = append(h.commits, c)
}

func TestFoldStoresRemovalAndSkipsRedelivery(t *testing.T) {
	h := &history{}
	st := group.New("G")
	decide(t, h, st, group.Create{Name: "G", JoinPolicy: events.PolicyOpen})
	decide(t, h, st, group.Invite{UserIDs: []string{"a", "b"}})
	decide(t, h, st, group.Remove{UserIDs: []string{"a"}})
	m := memmodel.New(1)
	f := app.NewFold(app.FoldConfig{Model: m, History: h, MaxCachedMembers: 100, RetryDelay: time.Second})
	ctx := context.Background()
	d := func(i int) *delivery { return &delivery{seq: uint64(i + 1), c: h.commits[i]} }

	// The last commit first: its predecessors are read from the history.
	last := d(2)
	if err := f.Apply(ctx, []app.Delivery{last}); err != nil {
		t.Fatal(err)
	}
	if !last.acked {
		t.Fatal("commit not acknowledged")
	}
	if _, err := m.Member(ctx, "G", "a"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("removed member: want not_found, have %v", err)
	}
	if _, err := m.Member(ctx, "G", "b"); err != nil {
		t.Fatalf("member b: %v", err)
	}
	info, _, err := m.GroupInfo(ctx, "G")
	if err != nil || info.Version != st.Version || info.MemberCount != len(st.Members) || info.AppliedSeq != 3 || info.FirstSeq != 1 {
		t.Fatalf("info %+v (%v), want version %d, %d members, applied 3, first 1", info, err, st.Version, len(st.Members))
	}
	// Redelivered predecessors are acknowledged without effect, also by a
	// fold that starts from the model (a restarted projector).
	again := app.NewFold(app.FoldConfig{Model: m, History: h, MaxCachedMembers: 100, RetryDelay: time.Second})
	for _, fl := range []*app.Fold{f, again} {
		first, second := d(0), d(1)
		if err := fl.Apply(ctx, []app.Delivery{first, second}); err != nil {
			t.Fatal(err)
		}
		if !first.acked || !second.acked {
			t.Fatal("redelivered commits not acknowledged")
		}
	}
	if have, _, _ := m.GroupInfo(ctx, "G"); have != info {
		t.Fatalf("redelivery changed the group:\nwant %+v\nhave %+v", info, have)
	}
}

// A crash between the member records and the info record leaves the
// commit unacknowledged; folding it again converges.
func TestFoldCrashBeforeInfoConverges(t *testing.T) {
	h := &history{}
	st := group.New("G")
	decide(t, h, st, group.Create{Name: "G", JoinPolicy: events.PolicyOpen, Members: []string{"a"}})
	m := memmodel.New(1)
	crash := errors.New("crash")
	f := app.NewFold(app.FoldConfig{Model: m, History: h, MaxCachedMembers: 100, CrashAt: func(stage string) error {
		if stage == "members-written" {
			return crash
		}
		return nil
	}})
	ctx := context.Background()
	first := &delivery{seq: 1, c: h.commits[0]}
	var ce *app.CrashError
	if err := f.Apply(ctx, []app.Delivery{first}); !errors.As(err, &ce) || first.acked {
		t.Fatalf("want a crash with nothing acknowledged, have %v (acked %v)", err, first.acked)
	}
	if _, _, err := m.GroupInfo(ctx, "G"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("info written before the crash point: %v", err)
	}
	redelivered := &delivery{seq: 1, c: h.commits[0]}
	if err := app.NewFold(app.FoldConfig{Model: m, History: h, MaxCachedMembers: 100}).Apply(ctx, []app.Delivery{redelivered}); err != nil || !redelivered.acked {
		t.Fatalf("redelivery after the crash: %v (acked %v)", err, redelivered.acked)
	}
	if info, _, err := m.GroupInfo(ctx, "G"); err != nil || info.MemberCount != len(st.Members) {
		t.Fatalf("after the redelivery: %+v %v", info, err)
	}
}
