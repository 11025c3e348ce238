package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/memmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The query use cases against the in-memory read model and a fake clock:
// the waits' timing is tested without waiting. The same behaviour against
// a real NATS server is in package membership's tests.

type models struct{ m app.ModelReader }

func (s models) Active() app.ModelReader { return s.m }

// history is an in-memory app.History: commits in stream order.
type history struct{ commits []events.Commit }

func (h *history) Head(_ context.Context, groupID string) (uint64, uint64, error) {
	for i := len(h.commits) - 1; i >= 0; i-- {
		if c := h.commits[i]; c.GroupID == groupID {
			return uint64(i + 1), c.LastVersion(), nil
		}
	}
	return 0, 0, events.Errorf(events.CodeNotFound, "group %q does not exist", groupID)
}

func (h *history) Each(_ context.Context, groupID string, from, last uint64, fn func(uint64, events.Commit) (bool, error)) error {
	for i := max(from, 1); i <= last && int(i) <= len(h.commits); i++ {
		if c := h.commits[i-1]; c.GroupID == groupID {
			if more, err := fn(i, c); err != nil || !more {
				return err
			}
		}
	}
	return nil
}

type env struct {
	m     *memmodel.Model
	clock *clockwork.FakeClock
	q     *app.Queries
	rev   uint64
}

func newEnv(t *testing.T, cfg app.QueriesConfig) *env {
	t.Helper()
	e := &env{m: memmodel.New(1), clock: clockwork.NewFakeClock()}
	cfg.Models, cfg.History, cfg.Clock = models{e.m}, &history{}, e.clock
	q, err := app.NewQueries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.q = q
	return e
}

// put stores group G at version v with members o (owner) and a.
func (e *env) put(t *testing.T, v uint64) {
	t.Helper()
	s := group.New("G")
	s.Version, s.Exists, s.Owner = v, true, "o"
	s.Members["o"] = &group.Member{Role: events.RoleOwner, JoinedVersion: 1}
	s.Members["a"] = &group.Member{Role: events.RoleMember, JoinedVersion: 1}
	w := &app.GroupWrite{State: s, Touched: map[string]bool{"o": true, "a": true}, AppliedSeq: v, FirstSeq: 1, InfoRev: e.rev}
	ctx := context.Background()
	if err := e.m.WriteMembers(ctx, []*app.GroupWrite{w}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.WriteInfos(ctx, []*app.GroupWrite{w}); err != nil {
		t.Fatal(err)
	}
	e.rev = w.InfoRev
}

type result struct {
	info app.GroupInfo
	err  error
}

func (e *env) groupAsync(minVersion uint64) <-chan result {
	out := make(chan result, 1)
	go func() {
		info, err := e.q.Group(context.Background(), &app.GroupRequest{GroupID: "G", MinVersion: minVersion})
		out <- result{info, err}
	}()
	return out
}

func TestMinVersionWaitTimesOutOnTheClock(t *testing.T) {
	e := newEnv(t, app.QueriesConfig{MaxWait: 5 * time.Second})
	e.put(t, 1)
	res := e.groupAsync(2)
	if err := e.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Second)
	r := <-res
	if have := events.CodeOf(r.err); have != events.CodeTimeout {
		t.Fatalf("want timeout, have %v", r.err)
	}
	if e.q.Waiting() != 0 || e.q.InFlight() != 0 || e.m.Waiting() != 0 {
		t.Fatalf("slots held after the wait: %d waiting, %d in flight, %d watches", e.q.Waiting(), e.q.InFlight(), e.m.Waiting())
	}
}

func TestMinVersionWaitAnsweredWhenReached(t *testing.T) {
	e := newEnv(t, app.QueriesConfig{})
	e.put(t, 1)
	res := e.groupAsync(2)
	if err := e.clock.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	e.put(t, 2)
	r := <-res
	if r.err != nil || r.info.Version != 2 {
		t.Fatalf("want version 2, have %+v %v", r.info, r.err)
	}
}

// A parked query gives back its worker: with one worker and one query
// parked, a plain query still answers; one wait more than the pool holds is
// refused unavailable at once.
func TestWaitsGiveBackTheirWorker(t *testing.T) {
	e := newEnv(t, app.QueriesConfig{MaxInFlight: 1, MaxWaiting: 1})
	e.put(t, 1)
	parked := e.groupAsync(2)
	natstest.Eventually(t, 10*time.Second, func() error {
		if e.q.Waiting() != 1 || e.q.InFlight() != 0 {
			return fmt.Errorf("%d waiting, %d in flight", e.q.Waiting(), e.q.InFlight())
		}
		return nil
	})
	if _, err := e.q.Members(context.Background(), &app.MembersRequest{GroupID: "G"}); err != nil {
		t.Fatalf("plain query while a wait is parked: %v", err)
	}
	if _, err := e.q.Group(context.Background(), &app.GroupRequest{GroupID: "G", MinVersion: 2}); events.CodeOf(err) != events.CodeUnavailable {
		t.Fatalf("one wait more than the pool: want unavailable, have %v", err)
	}
	e.put(t, 2)
	if r := <-parked; r.err != nil || r.info.Version != 2 {
		t.Fatalf("parked query: %+v %v", r.info, r.err)
	}
}

func TestQueryRefusals(t *testing.T) {
	e := newEnv(t, app.QueriesConfig{MaxVersionAhead: 10})
	e.put(t, 1)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func() error
		want events.Code
	}{
		{"bad group id", func() error { _, err := e.q.Group(ctx, &app.GroupRequest{GroupID: "a b"}); return err }, events.CodeInvalidArgument},
		{"missing group", func() error { _, err := e.q.Group(ctx, &app.GroupRequest{GroupID: "H"}); return err }, events.CodeNotFound},
		{"min_version beyond 2^53", func() error {
			_, err := e.q.Group(ctx, &app.GroupRequest{GroupID: "G", MinVersion: app.MaxMinVersion + 1})
			return err
		}, events.CodeInvalidArgument},
		{"min_version far ahead", func() error { _, err := e.q.Group(ctx, &app.GroupRequest{GroupID: "G", MinVersion: 12}); return err }, events.CodeInvalidArgument},
		{"limit too large", func() error {
			_, err := e.q.Members(ctx, &app.MembersRequest{GroupID: "G", Limit: app.MaxPageSize + 1})
			return err
		}, events.CodeInvalidArgument},
		{"foreign cursor", func() error {
			_, err := e.q.Members(ctx, &app.MembersRequest{GroupID: "G", Cursor: "c1.2"})
			return err
		}, events.CodeInvalidArgument},
		{"bad role", func() error { _, err := e.q.Members(ctx, &app.MembersRequest{GroupID: "G", Role: "king"}); return err }, events.CodeInvalidArgument},
		{"not a member", func() error { _, err := e.q.Member(ctx, &app.MemberRequest{GroupID: "G", UserID: "z"}); return err }, events.CodeNotFound},
		{"user_groups min_version without group", func() error {
			_, err := e.q.UserGroups(ctx, &app.UserGroupsRequest{UserID: "a", MinVersion: 1})
			return err
		}, events.CodeInvalidArgument},
		{"changes cursor", func() error { _, err := e.q.Changes(ctx, &app.ChangesRequest{GroupID: "G", Cursor: "s1"}); return err }, events.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); events.CodeOf(err) != tc.want {
				t.Fatalf("want %s, have %v", tc.want, err)
			}
		})
	}
}

func TestNoGenerationIsUnavailable(t *testing.T) {
	q, err := app.NewQueries(app.QueriesConfig{Models: models{}, History: &history{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Group(context.Background(), &app.GroupRequest{GroupID: "G"})
	if events.CodeOf(err) != events.CodeUnavailable || !errors.Is(err, app.ErrNoGeneration) {
		t.Fatalf("want unavailable, have %v", err)
	}
}
