//go:build slow

package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership"
)

// streamView is ROSTER_EVENTS as the test read it after the load.
type streamView struct {
	lastSeq  uint64
	commits  int
	byCmd    map[string]commitAt // group/command id -> its commit (the first)
	applied  map[string]int      // group/command id -> commits carrying it
	states   map[string]*group.State
	eventIDs map[string]bool
	events   map[string]eventAt
	problems []string
}

type commitAt struct {
	seq    uint64
	commit events.Commit
}

type eventAt struct {
	group   string
	version uint64
	seq     uint64
	command string
}

func cmdKey(groupID, cmdID string) string { return groupID + "/" + cmdID }

// readStream reads every commit by sequence from the stream leader (no
// consumer: the count of consumers is one of the things under test, and a
// leaked consumer must not stop the check), decodes it with
// eventstore.DecodeCommit and folds each group with group.State.Apply,
// noting every gap, repeat and undecodable commit.
func (h *harness) readStream(ctx context.Context) (*streamView, error) {
	s, err := h.js.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	v := &streamView{lastSeq: s.CachedInfo().State.LastSeq, byCmd: map[string]commitAt{}, applied: map[string]int{},
		states: map[string]*group.State{}, eventIDs: map[string]bool{}, events: map[string]eventAt{}}
	msgs := make([]*jetstream.RawStreamMsg, v.lastSeq+1)
	const readers = 8
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(r) + 1; seq <= v.lastSeq; seq += readers {
				m, err := s.GetMsg(ctx, seq)
				if err != nil {
					errs[r] = fmt.Errorf("read seq %d of %d: %w", seq, v.lastSeq, err)
					return
				}
				msgs[seq] = m
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for seq := uint64(1); seq <= v.lastSeq; seq++ {
		v.add(seq, msgs[seq].Subject, msgs[seq].Data)
	}
	return v, nil
}

func (v *streamView) problem(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *streamView) add(seq uint64, subject string, data []byte) {
	c, err := eventstore.DecodeCommit(data)
	if err != nil {
		v.problem("seq %d: %v", seq, err)
		return
	}
	v.commits++
	if subject != events.Subject(c.GroupID) {
		v.problem("seq %d: commit of group %q on subject %s", seq, c.GroupID, subject)
	}
	if len(c.Events) == 0 {
		v.problem("seq %d: empty commit %s", seq, c.CommandID)
	}
	k := cmdKey(c.GroupID, c.CommandID)
	v.applied[k]++
	if v.applied[k] == 1 {
		v.byCmd[k] = commitAt{seq: seq, commit: c}
	} else {
		v.problem("command %s applied %d times (again at seq %d)", k, v.applied[k], seq)
	}
	st := v.states[c.GroupID]
	if st == nil {
		st = group.New(c.GroupID)
		v.states[c.GroupID] = st
	}
	for _, e := range c.Events {
		if want := st.Version + 1; e.Version != want {
			v.problem("seq %d: %s event %s at version %d, want %d", seq, c.GroupID, e.ID, e.Version, want)
		}
		if e.GroupID != c.GroupID || e.CommandID != c.CommandID {
			v.problem("seq %d: event %s names group %q command %q in commit %s/%s", seq, e.ID, e.GroupID, e.CommandID, c.GroupID, c.CommandID)
		}
		if v.eventIDs[e.ID] {
			v.problem("seq %d: event id %s repeated", seq, e.ID)
		}
		v.eventIDs[e.ID] = true
		v.events[e.ID] = eventAt{group: c.GroupID, version: e.Version, seq: seq, command: c.CommandID}
		if _, err := st.Apply(e); err != nil {
			v.problem("seq %d: fold %s v%d: %v", seq, c.GroupID, e.Version, err)
			st.Version = e.Version // keep checking the rest of the group
		}
	}
}

// checkCommands holds the client's record against the stream: every
// acknowledged command is there once with the version and events it was
// acknowledged with; no rejected or unknown command is.
func checkCommands(ld *load, v *streamView) (errs []string, unresolvedApplied int) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	byID := map[string]*sent{}
	for _, s := range ld.sent {
		byID[cmdKey(s.group, s.cmdID)] = s
		c, ok := v.byCmd[cmdKey(s.group, s.cmdID)]
		switch s.result {
		case acked:
			if !ok {
				errs = append(errs, fmt.Sprintf("acknowledged %s %s on %s (v%d) is not in the stream", s.name, s.cmdID, s.group, s.version))
				continue
			}
			var ids []string
			for _, e := range c.commit.Events {
				ids = append(ids, e.ID)
			}
			if c.commit.LastVersion() != s.version || !slices.Equal(ids, s.eventIDs) {
				errs = append(errs, fmt.Sprintf("acknowledged %s on %s: reply v%d %v, stream v%d %v", s.cmdID, s.group, s.version, s.eventIDs, c.commit.LastVersion(), ids))
			}
		case rejected:
			if ok {
				errs = append(errs, fmt.Sprintf("%s %s on %s was rejected (%s) but is in the stream at seq %d", s.name, s.cmdID, s.group, s.code, c.seq))
			}
		case unresolved:
			if ok {
				unresolvedApplied++
			}
		}
	}
	for k := range v.byCmd {
		if byID[k] == nil {
			errs = append(errs, fmt.Sprintf("commit %s in the stream was never sent", k))
		}
	}
	sort.Strings(errs)
	return errs, unresolvedApplied
}

// checkProjection compares roster-query's answers for every group with the
// fold of the stream.
func (h *harness) checkProjection(ctx context.Context, v *streamView) error {
	st, err := membership.ReadStatus(ctx, h.js)
	if err != nil {
		return err
	}
	if st.AppliedSeq < v.lastSeq {
		return fmt.Errorf("projection applied up to seq %d of %d", st.AppliedSeq, v.lastSeq)
	}
	ids := make([]string, 0, len(v.states))
	for id := range v.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := h.compareGroup(v.states[id]); err != nil {
			return fmt.Errorf("group %s: %w", id, err)
		}
	}
	return nil
}

func (h *harness) query(subject string, req, into any) error {
	out, err := h.request(subject, req, 10*time.Second)
	if err != nil {
		return err
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(out, &e) == nil && e.Error != nil {
		return fmt.Errorf("%s: %s: %s", subject, e.Error.Code, e.Error.Message)
	}
	return json.Unmarshal(out, into)
}

func (h *harness) compareGroup(s *group.State) error {
	var info membership.GroupInfo
	if err := h.query(membership.SubjectGroup, membership.GroupRequest{GroupID: s.ID, MinVersion: s.Version}, &info); err != nil {
		return err
	}
	var diffs []string
	diff := func(what string, want, have any) {
		if fmt.Sprint(want) != fmt.Sprint(have) {
			diffs = append(diffs, fmt.Sprintf("%s: fold %v, projection %v", what, want, have))
		}
	}
	diff("version", s.Version, info.Version)
	diff("owner", s.Owner, info.Owner)
	diff("name", s.Name, info.Name)
	diff("intro", s.Intro, info.Intro)
	diff("join_policy", s.JoinPolicy, info.JoinPolicy)
	diff("dismissed", s.Dismissed, info.Dismissed)
	diff("muted", s.Muted, info.Muted)
	diff("member_count", len(s.Members), info.MemberCount)
	have := map[string]membership.Member{}
	cursor := ""
	for {
		var page membership.MembersReply
		if err := h.query(membership.SubjectMembers, membership.MembersRequest{GroupID: s.ID, Limit: membership.MaxPageSize, Cursor: cursor, MinVersion: s.Version}, &page); err != nil {
			return err
		}
		for _, m := range page.Members {
			have[m.UserID] = m
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	for u, m := range s.Members {
		p, ok := have[u]
		if !ok {
			diffs = append(diffs, "member "+u+" missing")
			continue
		}
		diff(u+".role", m.Role, p.Role)
		diff(u+".joined_version", m.JoinedVersion, p.JoinedVersion)
		diff(u+".inviter", m.Inviter, p.Inviter)
		muted := time.Time{}
		if p.MutedUntil != nil {
			muted = *p.MutedUntil
		}
		if !m.MutedUntil.Equal(muted) {
			diffs = append(diffs, fmt.Sprintf("%s.muted_until: fold %v, projection %v", u, m.MutedUntil, muted))
		}
	}
	for u := range have {
		if s.Members[u] == nil {
			diffs = append(diffs, "member "+u+" is not a member in the fold")
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// checkDeliveries waits until each receiver has every event of the stream,
// then checks it got nothing else.
func checkDeliveries(v *streamView, rs map[string]*receiver) error {
	var errs []string
	for _, id := range sortedKeys(rs) {
		if n, one := rs[id].missing(v.eventIDs); n > 0 {
			errs = append(errs, fmt.Sprintf("%s has not received %d of %d events (e.g. %s)", id, n, len(v.eventIDs), one))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkAuditEvents: the ClickHouse events table holds exactly the stream's
// events, each with its group, version, sequence and command.
func (h *harness) checkAuditEvents(ctx context.Context, v *streamView) error {
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: h.dsn})
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT id, group_id, version, stream_seq, command_id FROM events FINAL")
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[string]bool{}
	var errs []string
	for rows.Next() {
		var id, g, cmd string
		var ver, seq uint64
		if err := rows.Scan(&id, &g, &ver, &seq, &cmd); err != nil {
			return err
		}
		if seen[id] {
			errs = append(errs, "event "+id+" has two rows")
		}
		seen[id] = true
		want, ok := v.events[id]
		switch {
		case !ok:
			errs = append(errs, "row for event "+id+" not in the stream")
		case want != eventAt{group: g, version: ver, seq: seq, command: cmd}:
			errs = append(errs, fmt.Sprintf("event %s: stream %+v, row %s v%d seq %d %s", id, want, g, ver, seq, cmd))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if missing := len(v.events) - countIn(v.eventIDs, seen); missing > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d events have no row", missing, len(v.events)))
	}
	return joinFirst(errs)
}

func countIn(want, have map[string]bool) int {
	n := 0
	for k := range want {
		if have[k] {
			n++
		}
	}
	return n
}

func joinFirst(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Sprintf("and %d more", len(errs)-5))
	}
	return errors.New(strings.Join(errs, "; "))
}

// checkAuditCommands: the commands table has exactly one accepted row per
// commit and no accepted row for anything else; a committed command has no
// domain rejection row (an earlier try may legitimately have been answered
// unavailable, timeout or conflict without appending); every rejection and
// every duplicate answer the client got has its row (they are stored
// before the reply, docs/audit.md).
func (h *harness) checkAuditCommands(ctx context.Context, ld *load, v *streamView) error {
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: h.dsn})
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT group_id, command_id, outcome, error_code, toUInt64(count()) FROM commands FINAL GROUP BY group_id, command_id, outcome, error_code")
	if err != nil {
		return err
	}
	defer rows.Close()
	accepted := map[string]uint64{}
	have := map[string]bool{} // group/command/outcome/code
	var errs []string
	for rows.Next() {
		var g, cmd, outcome, code string
		var n uint64
		if err := rows.Scan(&g, &cmd, &outcome, &code, &n); err != nil {
			return err
		}
		k := cmdKey(g, cmd)
		have[k+"/"+outcome+"/"+code] = true
		_, committed := v.byCmd[k]
		switch {
		case outcome == audit.OutcomeAccepted:
			accepted[k] += n
			if !committed {
				errs = append(errs, fmt.Sprintf("accepted row for %s, which is not in the stream", k))
			}
		case outcome == audit.OutcomeRejected && committed && !retryable(code):
			errs = append(errs, fmt.Sprintf("committed %s has a rejected row (%s)", k, code))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	missing := 0
	for k := range v.byCmd {
		switch n := accepted[k]; {
		case n == 0:
			missing++
		case n > 1:
			errs = append(errs, fmt.Sprintf("%s has %d accepted rows", k, n))
		}
	}
	if missing > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d commits have no accepted row", missing, len(v.byCmd)))
	}
	ld.mu.Lock()
	noRejected, noDuplicate := 0, 0
	for _, s := range ld.sent {
		k := cmdKey(s.group, s.cmdID)
		switch {
		case s.result == rejected && !have[k+"/"+audit.OutcomeRejected+"/"+s.code]:
			noRejected++
		case s.result == acked && s.duplicate && !have[k+"/"+audit.OutcomeDuplicate+"/"]:
			noDuplicate++
		}
	}
	ld.mu.Unlock()
	if noRejected > 0 {
		errs = append(errs, fmt.Sprintf("%d commands answered with a rejection have no rejected row", noRejected))
	}
	if noDuplicate > 0 {
		errs = append(errs, fmt.Sprintf("%d commands answered as duplicates have no duplicate row", noDuplicate))
	}
	return joinFirst(errs)
}

// checkAuditDeliveries: every event has a succeeded attempt row per
// endpoint; returns the attempt rows per endpoint.
func (h *harness) checkAuditDeliveries(ctx context.Context, v *streamView, endpoints []string) (map[string]uint64, error) {
	conn, _, err := audit.OpenClickHouse(audit.ClickHouseConfig{DSN: h.dsn})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT endpoint_id, event_id, toUInt64(count()), toUInt64(sum(success)) FROM delivery_attempts FINAL GROUP BY endpoint_id, event_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	total := map[string]uint64{}
	ok := map[string]map[string]bool{}
	for _, e := range endpoints {
		ok[e] = map[string]bool{}
	}
	for rows.Next() {
		var ep, ev string
		var n, succ uint64
		if err := rows.Scan(&ep, &ev, &n, &succ); err != nil {
			return nil, err
		}
		total[ep] += n
		if succ > 0 && ok[ep] != nil {
			ok[ep][ev] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var errs []string
	for _, e := range endpoints {
		if n := len(v.eventIDs) - countIn(v.eventIDs, ok[e]); n > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d of %d events have no succeeded attempt row", e, n, len(v.eventIDs)))
		}
	}
	return total, joinFirst(errs)
}
