package membership

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func replayAll(t *testing.T, f *fixture, o ReplayOptions) []events.Event {
	t.Helper()
	var out []events.Event
	if err := Replay(context.Background(), f.js, o, func(_ uint64, e events.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func versions(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.GroupID+"@"+strconv.FormatUint(e.Version, 10))
	}
	return out
}

// appendV1Mute stores a member.muted event in its old schema (v1: a
// relative duration), as an older Roster would have.
func (f *fixture) appendV1Mute(groupID, user string, seconds int) {
	f.t.Helper()
	f.mu.Lock()
	s := f.states[groupID]
	f.clock = f.clock.Add(time.Second)
	f.n++
	e := events.Event{ID: fmt.Sprintf("ev-%d-0", f.n), Type: events.MemberMuted, SchemaVersion: 1, GroupID: groupID,
		Version: s.Version + 1, OccurredAt: f.clock, CommandID: "cmd-" + strconv.Itoa(f.n), Actor: "o",
		Data: json.RawMessage(fmt.Sprintf(`{"user_id":%q,"duration_seconds":%d}`, user, seconds))}
	c := events.Commit{CommandID: e.CommandID, Command: "member.mute", GroupID: groupID, Events: []events.Event{e}}
	seq, err := appendCommit(context.Background(), f.js, c, f.lastSeq[groupID])
	if err == nil {
		f.lastSeq[groupID] = seq
		_, err = s.Apply(e)
	}
	f.mu.Unlock()
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	f.do("A", "o", group.Create{Name: "A", JoinPolicy: events.PolicyInviteOnly})
	f.do("B", "o", group.Create{Name: "B"})
	f.do("A", "o", group.Invite{UserIDs: []string{"a"}})
	f.do("A", "o", group.Remove{UserIDs: []string{"a"}})
	f.do("A", "o", group.Invite{UserIDs: []string{"a"}})
	f.appendV1Mute("A", "a", 60)
	muteAt := f.clock

	tests := []struct {
		name string
		opts ReplayOptions
		want []string
	}{
		{"all", ReplayOptions{}, []string{"A@1", "B@1", "A@2", "A@3", "A@4", "A@5"}},
		{"one group", ReplayOptions{GroupID: "B"}, []string{"B@1"}},
		{"from version", ReplayOptions{GroupID: "A", FromVersion: 3}, []string{"A@3", "A@4", "A@5"}},
		{"from seq", ReplayOptions{FromSeq: 5}, []string{"A@4", "A@5"}},
		{"since", ReplayOptions{Since: muteAt}, []string{"A@5"}},
		{"nothing after the end", ReplayOptions{FromSeq: 99}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if have := versions(replayAll(t, f, tc.opts)); !slices.Equal(have, tc.want) {
				t.Fatalf("want %v, have %v", tc.want, have)
			}
		})
	}

	// The v1 event comes out upcast.
	evs := replayAll(t, f, ReplayOptions{GroupID: "A", FromVersion: 5})
	var d events.MemberMutedData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil || evs[0].SchemaVersion != 2 || !d.Until.Equal(muteAt.Add(time.Minute)) {
		t.Fatalf("upcast mute: %+v %s (%v)", evs[0], evs[0].Data, err)
	}

	bad := []struct {
		name string
		opts ReplayOptions
	}{
		{"version without group", ReplayOptions{FromVersion: 2}},
		{"two starts", ReplayOptions{FromSeq: 2, Since: muteAt}},
		{"unsafe group", ReplayOptions{GroupID: "A.*"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := Replay(context.Background(), f.js, tc.opts, func(uint64, events.Event) error { return nil })
			if events.CodeOf(err) != events.CodeInvalidArgument {
				t.Fatalf("want invalid_argument, have %v", err)
			}
		})
	}

	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan events.Event, 16)
		done := make(chan error, 1)
		go func() {
			done <- Replay(ctx, f.js, ReplayOptions{GroupID: "B", Follow: true}, func(_ uint64, e events.Event) error {
				got <- e
				return nil
			})
		}()
		if e := <-got; e.Version != 1 {
			t.Fatalf("first: %+v", e)
		}
		f.do("B", "o", group.Update{Name: ptr("B2")})
		select {
		case e := <-got:
			if e.Type != events.GroupUpdated {
				t.Fatalf("followed: %+v", e)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the new event was not followed")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// Old-schema events are upcast by the fold, live and in rebuilds; lag is
// reported against the stream.
func TestUpcastAndStatus(t *testing.T) {
	f := newFixture(t)
	_, run := f.projector(Config{})
	f.do("A", "o", group.Create{Name: "A"})
	f.do("A", "o", group.Invite{UserIDs: []string{"a"}})
	f.appendV1Mute("A", "a", 90)
	f.caughtUp(1, 10*time.Second)
	m, err := openModel(t, f.js, 1).Member(context.Background(), "A", "a")
	if err != nil || m.MutedUntil == nil || !m.MutedUntil.Equal(f.clock.Add(90*time.Second)) {
		t.Fatalf("muted member: %+v (%v)", m, err)
	}

	natstest.Eventually(t, 10*time.Second, func() error {
		st, err := ReadStatus(context.Background(), f.js)
		if err != nil {
			return err
		}
		if st.Lag != 0 || st.AppliedSeq != 3 || st.StreamLastSeq != 3 || st.Generation.Number != 1 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	f.do("A", "o", group.Remove{UserIDs: []string{"a"}})
	f.do("A", "o", group.Update{Name: ptr("A2")})
	st, err := ReadStatus(context.Background(), f.js)
	if err != nil || st.Lag != 2 || st.StreamLastSeq != 5 {
		t.Fatalf("status with the projector down: %+v (%v)", st, err)
	}

	res, err := Rebuild(context.Background(), RebuildConfig{JS: f.js, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := diff(f.expected(), dump(t, f.js, res.To.Number)); err != nil {
		t.Fatal(err)
	}
}
