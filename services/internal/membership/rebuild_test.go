package membership

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// generate appends about n events over groups groups: big invite batches,
// removals, re-invites, role changes and mutes, a transfer and a dismissal,
// so every kind of member change is folded. It returns the events appended.
func (f *fixture) generate(n, groups int, seed uint64) int {
	f.t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	total, next := 0, 0
	members := make([][]string, groups)
	gid := func(g int) string { return fmt.Sprintf("g%03d", g) }
	for g := range groups {
		// OpenIM's group fields (issue 12) ride along on every group.
		f.do(gid(g), "owner", group.Create{Name: gid(g), JoinPolicy: events.PolicyInviteOnly, FaceURL: "https://f/" + gid(g),
			Ex: `{"g":"` + gid(g) + `"}`, Notification: "welcome to " + gid(g), LookMemberInfo: int32(g % 2)})
		total++
	}
	for total < n {
		g := rng.IntN(groups)
		switch k := rng.IntN(10); {
		case k < 6 || len(members[g]) < 50: // invite a batch of new users
			batch := make([]string, 0, 100)
			for range 100 {
				batch = append(batch, fmt.Sprintf("u%06d", next))
				next++
			}
			f.do(gid(g), "owner", group.Invite{UserIDs: batch})
			members[g] = append(members[g], batch...)
			total += len(batch)
		case k < 8: // remove some
			cut := rng.IntN(len(members[g])-20) + 10
			gone := members[g][cut-10 : cut]
			f.do(gid(g), "owner", group.Remove{UserIDs: slices.Clone(gone)})
			members[g] = slices.Delete(members[g], cut-10, cut)
			total += 10
		case k < 9: // re-invite someone who left another group, or a role change
			u := members[g][rng.IntN(len(members[g]))]
			role := events.RoleAdmin
			if f.states[gid(g)].Members[u].Role != events.RoleMember {
				role = events.RoleMember
			}
			if rng.IntN(2) == 0 {
				f.do(gid(g), "owner", group.SetRole{UserID: u, Role: role})
			} else { // member.set_info: a profile and the role in one event
				f.do(gid(g), "owner", group.SetInfo{UserID: u, Role: &role, Nickname: ptr("名前 " + u), Ex: ptr(`{"n":1}`)})
			}
			total++
		default:
			u := members[g][rng.IntN(len(members[g]))]
			f.do(gid(g), "owner", group.MuteMember{UserID: u, Duration: time.Hour})
			total++
		}
	}
	// A transfer and a dismissal, so group-wide changes are folded too.
	f.do(gid(0), "owner", group.Transfer{NewOwner: members[0][0]})
	f.do(gid(1), "owner", group.Dismiss{})
	f.do(gid(2), "owner", group.Update{Notification: ptr("read the rules"), ApplyMemberFriend: ptr(int32(1))})
	return total + 3
}

// waitApplied waits until p has applied everything in ROSTER_EVENTS.
func (f *fixture) waitApplied(p *Projector, timeout time.Duration) {
	f.t.Helper()
	natstest.Eventually(f.t, timeout, func() error {
		info, err := f.stream.Info(context.Background())
		if err != nil {
			return err
		}
		if s := p.Stats(); s.AppliedSeq < info.State.LastSeq || s.Pending > 0 {
			return fmt.Errorf("applied %d of %d (pending %d)", s.AppliedSeq, info.State.LastSeq, s.Pending)
		}
		return nil
	})
}

// A rebuild of a long stream yields exactly the live projector's model, the
// switch is atomic for queries, and the live projector follows the switch.
func TestRebuildEqualsLiveProjection(t *testing.T) {
	n := rebuildEquivalenceEvents // 100,000 under -tags slow (docs/adr/0057)
	f := newFixture(t)
	live, _ := f.projector(Config{})
	f.queries()

	began := time.Now()
	total := f.generate(n, 20, 1)
	t.Logf("appended %d events in %s", total, time.Since(began))
	f.waitApplied(live, 120*time.Second)
	t.Logf("live projector caught up after %s", time.Since(began))
	want := f.expected()
	if err := diff(want, dump(t, f.js, 1)); err != nil {
		t.Fatalf("live model differs from the fold of the stream: %v", err)
	}
	t.Logf("live model checked after %s", time.Since(began))

	// Queries answer from generation 1 while the rebuild runs.
	var before GroupInfo
	if e := f.query(SubjectGroup, GroupRequest{GroupID: "g005"}, &before); e != nil {
		t.Fatal(e)
	}
	var last RebuildProgress
	began = time.Now()
	res, err := Rebuild(context.Background(), RebuildConfig{JS: f.js, Log: testLog(t), Progress: func(p RebuildProgress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt %d commits / %d events in %s", res.Commits, res.Events, time.Since(began))
	if res.From.Number != 1 || res.To.Number != 2 || res.Events != uint64(total) || last.AppliedSeq != last.TargetSeq {
		t.Fatalf("result %+v, last progress %+v, want %d events", res, last, total)
	}
	if err := diff(want, dump(t, f.js, 2)); err != nil {
		t.Fatalf("rebuilt model differs from the live one: %v", err)
	}

	// After the switch, a new command lands in generation 2 through the
	// live projector, and queries read it.
	v := f.do("g005", "owner", group.Update{Name: ptr("renamed")})
	// (The projector first reloads the group's 5,000 members from the new
	// generation, which can take longer than the fixture's min_version wait.)
	natstest.Eventually(t, 20*time.Second, func() error {
		var after GroupInfo
		if e := f.query(SubjectGroup, GroupRequest{GroupID: "g005"}, &after); e != nil {
			return fmt.Errorf("%+v", e)
		}
		if after.Name != "renamed" || after.Version != v || v != before.Version+1 {
			return fmt.Errorf("after switch: %+v", after)
		}
		return nil
	})
	// The live projector now writes generation 2 and left generation 1 alone.
	old, _, err := openModel(t, f.js, 1).GroupInfo(context.Background(), "g005")
	if err != nil || old.Version != before.Version {
		t.Fatalf("generation 1 changed after the switch: %+v (%v)", old, err)
	}

	// Large groups are cheap: one member change to a group of thousands
	// writes three keys (member, user index, group info).
	big := ""
	for g, st := range f.states {
		if big == "" || len(st.Members) > len(f.states[big].Members) {
			big = g
		}
	}
	kvStream, err := f.js.Stream(context.Background(), "KV_"+BucketName(2))
	if err != nil {
		t.Fatal(err)
	}
	writes := func(cmd group.Command) uint64 {
		t.Helper()
		before, err := kvStream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		v := f.do(big, "owner", cmd)
		natstest.Eventually(t, 20*time.Second, func() error {
			var gi GroupInfo
			if e := f.query(SubjectGroup, GroupRequest{GroupID: big}, &gi); e != nil || gi.Version < v {
				return fmt.Errorf("%s not at version %d yet (%+v)", big, v, e)
			}
			return nil
		})
		after, err := kvStream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return after.State.LastSeq - before.State.LastSeq
	}
	writes(group.Invite{UserIDs: []string{"newcomer"}}) // the group's state is hot from here on
	for _, cmd := range []group.Command{group.Remove{UserIDs: []string{"newcomer"}}, group.Invite{UserIDs: []string{"newcomer2"}}} {
		if n := writes(cmd); n != 3 {
			t.Fatalf("%s in a %d-member group wrote %d keys, want 3", cmd.Kind(), len(f.states[big].Members), n)
		}
	}
	t.Logf("one change to %s (%d members) writes 3 keys", big, len(f.states[big].Members))
}

func ptr[T any](v T) *T { return &v }

func TestRebuildLock(t *testing.T) {
	f := newFixture(t)
	f.do("A", "o", group.Create{Name: "A"})
	ctx := context.Background()
	ctl, err := kvmodel.OpenControl(ctx, f.js, StoreConfig{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Lock(ctx, kvmodel.RebuildLock{Host: "a rebuild that died"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Rebuild(ctx, RebuildConfig{JS: f.js, Log: testLog(t)}); err == nil || events.CodeOf(err) != events.CodeFailedPrecondition {
		t.Fatalf("want failed_precondition while locked, have %v", err)
	}
	res, err := Rebuild(ctx, RebuildConfig{JS: f.js, Log: testLog(t), Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.To.Number != 2 || res.Commits != 1 {
		t.Fatalf("forced rebuild: %+v", res)
	}
	f.caughtUp(2, 5*time.Second)
}
