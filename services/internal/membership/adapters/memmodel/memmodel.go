// Package memmodel is an in-memory app.ReadModel for fast tests of the
// app layer. It keeps the KV adapter's semantics that callers rely on
// (write-order scans with positions, a CAS on the info record, watches that
// see every later write) and passes readmodeltest.Run; it is not for
// production: nothing survives the process.
package memmodel

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// Model is one generation held in memory. Safe for concurrent use.
type Model struct {
	gen uint64

	mu sync.Mutex
	// seq is the position of the last write; each record remembers the
	// position it was last written at, as a KV bucket's stream does.
	seq     uint64
	infos   map[string]entry[app.GroupInfo]
	members map[string]entry[app.Member]    // "<group>.<user>"
	users   map[string]entry[app.UserGroup] // "<user>.<group>"
	waits   map[*waiter]struct{}
}

type entry[T any] struct {
	seq uint64
	v   T
}

var _ app.ReadModel = (*Model)(nil)

// New returns an empty generation gen.
func New(gen uint64) *Model {
	return &Model{gen: gen, infos: map[string]entry[app.GroupInfo]{}, members: map[string]entry[app.Member]{},
		users: map[string]entry[app.UserGroup]{}, waits: map[*waiter]struct{}{}}
}

// Generation is the generation number m holds.
func (m *Model) Generation() uint64 { return m.gen }

// GroupInfo returns a group's info and its revision.
func (m *Model) GroupInfo(_ context.Context, groupID string) (app.GroupInfo, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.infos[groupID]
	if !ok {
		return app.GroupInfo{}, 0, events.Errorf(events.CodeNotFound, "group %q does not exist", groupID)
	}
	return e.v, e.seq, nil
}

// Member returns one member.
func (m *Model) Member(_ context.Context, groupID, userID string) (app.Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.members[groupID+"."+userID]
	if !ok {
		return app.Member{}, events.Errorf(events.CodeNotFound, "%q is not a member of group %q", userID, groupID)
	}
	return e.v, nil
}

// Members visits the group's members in write order.
func (m *Model) Members(_ context.Context, groupID string, after uint64, limit int, keep func(app.Member) bool) (uint64, bool, error) {
	m.mu.Lock()
	page := scan(m.members, groupID+".", after)
	m.mu.Unlock()
	return visit(page, after, limit, keep)
}

// UserGroups visits a user's index records in write order.
func (m *Model) UserGroups(_ context.Context, userID string, after uint64, limit int, keep func(app.UserGroup) bool) (uint64, bool, error) {
	m.mu.Lock()
	page := scan(m.users, userID+".", after)
	m.mu.Unlock()
	return visit(page, after, limit, keep)
}

// scan returns the entries under prefix written after position after, in
// write order. The caller holds the lock.
func scan[T any](recs map[string]entry[T], prefix string, after uint64) []entry[T] {
	var out []entry[T]
	for k, e := range recs {
		if strings.HasPrefix(k, prefix) && e.seq > after {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func visit[T any](page []entry[T], after uint64, limit int, keep func(T) bool) (uint64, bool, error) {
	seen, kept := after, 0
	for i, e := range page {
		seen = e.seq
		if keep(e.v) {
			kept++
		}
		if limit >= 0 && kept >= limit {
			return seen, i < len(page)-1, nil
		}
	}
	return seen, false, nil
}

// WriteMembers stores the touched users' records.
func (m *Model) WriteMembers(_ context.Context, ws []*app.GroupWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range ws {
		g := w.State.ID
		for u := range w.Touched {
			if mb := w.State.Members[u]; mb != nil {
				m.seq++
				m.members[g+"."+u] = entry[app.Member]{m.seq, app.MemberFromState(g, u, mb)}
				m.seq++
				m.users[u+"."+g] = entry[app.UserGroup]{m.seq, app.UserGroupFromState(g, mb)}
			} else {
				delete(m.members, g+"."+u)
				delete(m.users, u+"."+g)
			}
		}
	}
	return nil
}

// WriteInfos stores the info records with a CAS on InfoRev.
func (m *Model) WriteInfos(_ context.Context, ws []*app.GroupWrite) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, w := range ws {
		g := w.State.ID
		if have := m.infos[g].seq; have != w.InfoRev {
			errs = append(errs, fmt.Errorf("write group %s: revision is %d, expected %d", g, have, w.InfoRev))
			continue
		}
		m.seq++
		info := w.Info()
		m.infos[g] = entry[app.GroupInfo]{m.seq, info}
		w.InfoRev = m.seq
		for wt := range m.waits {
			if wt.groupID == g && info.Version >= wt.min {
				select {
				case wt.reached <- info:
				default:
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

type waiter struct {
	m       *Model
	groupID string
	min     uint64
	reached chan app.GroupInfo
}

func (w *waiter) Reached() <-chan app.GroupInfo { return w.reached }

func (w *waiter) Stop() {
	w.m.mu.Lock()
	delete(w.m.waits, w)
	w.m.mu.Unlock()
}

// WatchInfo registers a min_version wait.
func (m *Model) WatchInfo(groupID string, min uint64) (app.InfoWatch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &waiter{m: m, groupID: groupID, min: min, reached: make(chan app.GroupInfo, 1)}
	m.waits[w] = struct{}{}
	return w, nil
}

// Waiting is the number of registered waits (tests).
func (m *Model) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waits)
}
