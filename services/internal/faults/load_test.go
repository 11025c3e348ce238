//go:build slow

package faults

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/membership"
)

// loadConfig sizes the load.
type loadConfig struct {
	groups  int // groups each driven by one worker, in a model of their state
	hot     int // open groups that several workers join concurrently
	workers int // workers driving the modelled groups
	hotters int // workers joining (and quitting) the hot groups
	rate    int // commands per second, all workers together
	// answerWithin bounds how long one command is retried (same command_id)
	// before it counts as unanswered.
	answerWithin time.Duration
}

// Outcome of one command as the client saw it.
type outcome int

const (
	acked      outcome = iota + 1 // accepted or duplicate: the client was told it is applied
	rejected                      // a definite domain rejection: nothing applied
	unresolved                    // no definite answer in time (or internal): may or may not be applied
)

// sent is one command the load issued.
type sent struct {
	group, cmdID, name string
	valid              bool // the model expected acceptance (hot groups: always)
	result             outcome
	code               string
	version            uint64
	eventIDs           []string
	duplicate          bool
	tries              int
}

// load drives commands and records every outcome.
type load struct {
	cfg    loadConfig
	nc     *nats.Conn
	tokens chan struct{}
	seq    atomic.Int64

	mu       sync.Mutex
	sent     map[string]*sent // by command id (unique across the run)
	ackTimes []time.Time
	recent   []*sent // the last acknowledged commands, for read-your-writes queries
	failures []string
	queries  queryStats
}

type queryStats struct{ ok, retried int }

func newLoad(cfg loadConfig, nc *nats.Conn) *load {
	return &load{cfg: cfg, nc: nc, tokens: make(chan struct{}, cfg.rate), sent: map[string]*sent{}}
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, time.Now().UTC().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
}

// run issues commands until stop is closed, then lets every command in
// flight reach its answer, and returns.
func (l *load) run(stop <-chan struct{}) {
	var wg sync.WaitGroup
	// The pacer: one token per command, at the configured rate.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(l.cfg.rate))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				close(l.tokens)
				return
			case <-tick.C:
				select {
				case l.tokens <- struct{}{}:
				default:
				}
			}
		}
	}()
	hot := make([]string, l.cfg.hot)
	for i := range hot {
		hot[i] = fmt.Sprintf("H%d", i)
		l.exec(hot[i], "group.create", map[string]any{"name": "hot " + hot[i], "join_policy": "open"}, "owner", true)
	}
	for w := range l.cfg.workers {
		var gs []*gmodel
		for g := w; g < l.cfg.groups; g += l.cfg.workers {
			gs = append(gs, newModel(fmt.Sprintf("G%d", g), g))
		}
		wg.Add(1)
		go func() { defer wg.Done(); l.drive(w, gs) }()
	}
	for w := range l.cfg.hotters {
		wg.Add(1)
		go func() { defer wg.Done(); l.driveHot(w, hot) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); l.readOwnWrites(stop) }()
	wg.Wait()
}

func (l *load) nextID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, l.seq.Add(1))
}

// exec sends one command with a fresh command_id and retries it with the
// same id until a definite answer: accepted, duplicate (also acked) or a
// domain rejection. unavailable, timeout, conflict, no responders and
// request timeouts are retried.
func (l *load) exec(groupID, name string, fields map[string]any, actor string, valid bool) *sent {
	s := &sent{group: groupID, cmdID: l.nextID("c"), name: name, valid: valid}
	body := map[string]any{"group_id": groupID, "actor": actor, "command_id": s.cmdID}
	for k, v := range fields {
		body[k] = v
	}
	data, _ := json.Marshal(body)
	l.mu.Lock()
	l.sent[s.cmdID] = s
	l.mu.Unlock()
	end := time.Now().Add(l.cfg.answerWithin)
	backoff := 20 * time.Millisecond
	for {
		s.tries++
		res, code, retry := l.try(groups.SubjectPrefix+name, data)
		if !retry {
			l.mu.Lock()
			switch {
			case res != nil:
				s.result, s.version, s.duplicate = acked, res.Version, res.dup
				for _, e := range res.Events {
					s.eventIDs = append(s.eventIDs, e.ID)
				}
				l.ackTimes = append(l.ackTimes, time.Now())
				if len(l.recent) == 64 {
					l.recent = l.recent[1:]
				}
				l.recent = append(l.recent, s)
			case code == string(events.CodeInternal):
				s.result, s.code = unresolved, code
			default:
				s.result, s.code = rejected, code
			}
			l.mu.Unlock()
			if s.result == unresolved {
				l.fail("%s %s on %s: internal error", name, s.cmdID, groupID)
			}
			return s
		}
		if time.Now().After(end) {
			l.mu.Lock()
			s.result, s.code = unresolved, code
			l.mu.Unlock()
			l.fail("%s %s on %s: no definite answer in %s (%d tries, last: %s)", name, s.cmdID, groupID, l.cfg.answerWithin, s.tries, code)
			return s
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

type ackReply struct {
	groups.Reply
	dup bool
}

// try sends one request: a reply, or the error code and whether to retry.
func (l *load) try(subject string, data []byte) (*ackReply, string, bool) {
	msg, err := l.nc.Request(subject, data, 5*time.Second)
	if err != nil {
		return nil, err.Error(), true
	}
	var e groups.ErrorReply
	if json.Unmarshal(msg.Data, &e) == nil && e.Error.Code != "" {
		return nil, string(e.Error.Code), retryable(string(e.Error.Code))
	}
	var r ackReply
	if err := json.Unmarshal(msg.Data, &r.Reply); err != nil || r.Version == 0 {
		return nil, fmt.Sprintf("unreadable reply %.200q", msg.Data), true
	}
	r.dup = msg.Header.Get(groups.DuplicateHeader) == "true"
	return &r, "", false
}

// gmodel is the client's model of one group that only its worker changes:
// it knows the outcome every command must have.
type gmodel struct {
	id, owner, policy string
	created, frozen   bool
	version           uint64
	members           map[string]events.Role // without the owner
	pending           map[string]bool
	muted             map[string]bool
	users             int
}

func newModel(id string, i int) *gmodel {
	p := "open"
	if i%2 == 1 {
		p = "approval"
	}
	return &gmodel{id: id, owner: "o" + id, policy: p, members: map[string]events.Role{}, pending: map[string]bool{}, muted: map[string]bool{}}
}

func (g *gmodel) newUser() string {
	g.users++
	return fmt.Sprintf("u%d", g.users)
}

func pick[T any](m map[string]T) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[rand.IntN(len(keys))]
}

// step is one command chosen from the model with its expected effect.
type step struct {
	name   string
	actor  string
	fields map[string]any
	valid  bool
	events int           // events an acceptance appends
	apply  func(*gmodel) // the model after acceptance
}

func (g *gmodel) next() step {
	if !g.created {
		return step{name: "group.create", actor: g.owner, fields: map[string]any{"name": "group " + g.id, "join_policy": g.policy},
			valid: true, events: 1, apply: func(g *gmodel) { g.created = true }}
	}
	r := rand.IntN(100)
	if len(g.members) > 30 && r < 60 {
		r = 40 // keep groups small: remove
	}
	switch {
	case r < 25:
		n := 1 + rand.IntN(3)
		var us []string
		for range n {
			us = append(us, g.newUser())
		}
		return step{name: "member.invite", actor: g.owner, fields: map[string]any{"user_ids": us}, valid: true, events: n,
			apply: func(g *gmodel) {
				for _, u := range us {
					g.members[u] = events.RoleMember
				}
			}}
	case r < 38:
		u := g.newUser()
		return step{name: "member.join", actor: u, valid: true, events: 1, apply: func(g *gmodel) {
			if g.policy == "open" {
				g.members[u] = events.RoleMember
			} else {
				g.pending[u] = true
			}
		}}
	case r < 45 && len(g.pending) > 0:
		u := pick(g.pending)
		return step{name: "member.approve", actor: g.owner, fields: map[string]any{"user_id": u}, valid: true, events: 1,
			apply: func(g *gmodel) { delete(g.pending, u); g.members[u] = events.RoleMember }}
	case r < 48 && len(g.pending) > 0:
		u := pick(g.pending)
		return step{name: "member.reject", actor: g.owner, fields: map[string]any{"user_id": u, "reason": "full"}, valid: true, events: 1,
			apply: func(g *gmodel) { delete(g.pending, u) }}
	case r < 60 && len(g.members) > 0:
		u := pick(g.members)
		return step{name: "member.remove", actor: g.owner, fields: map[string]any{"user_ids": []string{u}}, valid: true, events: 1,
			apply: func(g *gmodel) { delete(g.members, u); delete(g.muted, u) }}
	case r < 67 && len(g.members) > 0:
		u := pick(g.members)
		return step{name: "member.quit", actor: u, valid: true, events: 1,
			apply: func(g *gmodel) { delete(g.members, u); delete(g.muted, u) }}
	case r < 75 && len(g.members) > 0:
		u := pick(g.members)
		role := events.RoleAdmin
		if g.members[u] == events.RoleAdmin {
			role = events.RoleMember
		}
		return step{name: "member.set_role", actor: g.owner, fields: map[string]any{"user_id": u, "role": string(role)}, valid: true, events: 1,
			apply: func(g *gmodel) { g.members[u] = role }}
	case r < 82 && len(g.members) > 0:
		u := pick(g.members)
		if g.muted[u] {
			return step{name: "member.unmute", actor: g.owner, fields: map[string]any{"user_id": u}, valid: true, events: 1,
				apply: func(g *gmodel) { delete(g.muted, u) }}
		}
		return step{name: "member.mute", actor: g.owner, fields: map[string]any{"user_id": u, "duration_seconds": 3600}, valid: true, events: 1,
			apply: func(g *gmodel) { g.muted[u] = true }}
	case r < 88:
		return step{name: "group.update", actor: g.owner, fields: map[string]any{"intro": fmt.Sprintf("v%d", g.version+1)}, valid: true, events: 1,
			apply: func(*gmodel) {}}
	case r < 94 && len(g.members) > 0:
		// Deliberately invalid: inviting a member (already_exists).
		return step{name: "member.invite", actor: g.owner, fields: map[string]any{"user_ids": []string{pick(g.members)}}}
	case r < 100:
		// Deliberately invalid: removing a user who never joined (not_found).
		return step{name: "member.remove", actor: g.owner, fields: map[string]any{"user_ids": []string{"nobody"}}}
	}
	u := g.newUser()
	return step{name: "member.invite", actor: g.owner, fields: map[string]any{"user_ids": []string{u}}, valid: true, events: 1,
		apply: func(g *gmodel) { g.members[u] = events.RoleMember }}
}

// drive runs the modelled groups of one worker, one command at a time per
// group, and checks each answer against the model.
func (l *load) drive(w int, gs []*gmodel) {
	for range l.tokens {
		var live []*gmodel
		for _, g := range gs {
			if !g.frozen {
				live = append(live, g)
			}
		}
		if len(live) == 0 {
			return
		}
		g := live[rand.IntN(len(live))]
		st := g.next()
		s := l.exec(g.id, st.name, st.fields, st.actor, st.valid)
		switch {
		case s.result == unresolved:
			g.frozen = true // the model cannot know what happened
		case s.result == acked && !st.valid:
			l.fail("worker %d: invalid %s %s on %s (model v%d) was accepted at v%d", w, st.name, s.cmdID, g.id, g.version, s.version)
			g.frozen = true
		case s.result == rejected && st.valid:
			// A command the group's state allows, rejected: decided on state
			// that is not the group's latest.
			l.fail("worker %d: valid %s %s on %s (model v%d) rejected: %s", w, st.name, s.cmdID, g.id, g.version, s.code)
		case s.result == acked:
			if want := g.version + uint64(st.events); s.version != want {
				l.fail("worker %d: %s %s on %s acked at v%d, want v%d", w, st.name, s.cmdID, g.id, s.version, want)
				g.frozen = true
			}
			g.version = s.version
			st.apply(g)
		}
	}
}

// driveHot joins the hot groups with users of its own and quits some of
// them again, concurrently with the other hot workers (optimistic
// concurrency between the two groups processes).
func (l *load) driveHot(w int, hot []string) {
	type key struct{ group, user string }
	var joined []key
	n := 0
	for range l.tokens {
		if len(joined) > 0 && rand.IntN(5) == 0 {
			i := rand.IntN(len(joined))
			k := joined[i]
			joined = append(joined[:i], joined[i+1:]...)
			if s := l.exec(k.group, "member.quit", nil, k.user, true); s.result == rejected {
				l.fail("hot worker %d: quit of %s from %s rejected: %s", w, k.user, k.group, s.code)
			}
			continue
		}
		n++
		k := key{hot[rand.IntN(len(hot))], fmt.Sprintf("h%dx%d", w, n)}
		s := l.exec(k.group, "member.join", nil, k.user, true)
		switch s.result {
		case acked:
			joined = append(joined, k)
		case rejected:
			l.fail("hot worker %d: join of %s to %s rejected: %s", w, k.user, k.group, s.code)
		}
	}
}

// readOwnWrites reads a recent acknowledged write back through
// roster-query (min_version), as a client reading its own write does;
// "try again" answers are retried, any other failure is recorded.
func (l *load) readOwnWrites(stop <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var target *sent
		l.mu.Lock()
		if len(l.recent) > 0 {
			target = l.recent[rand.IntN(len(l.recent))]
		}
		l.mu.Unlock()
		if target == nil {
			continue
		}
		req, _ := json.Marshal(membership.GroupRequest{GroupID: target.group, MinVersion: target.version})
		end := time.Now().Add(l.cfg.answerWithin)
		for {
			msg, err := l.nc.Request(membership.SubjectGroup, req, 6*time.Second)
			code := ""
			if err != nil {
				code = err.Error()
			} else {
				var e groups.ErrorReply
				if json.Unmarshal(msg.Data, &e) == nil && e.Error.Code != "" {
					code = string(e.Error.Code)
				}
			}
			if code == "" {
				var info membership.GroupInfo
				if err := json.Unmarshal(msg.Data, &info); err != nil || info.Version < target.version {
					l.fail("query %s min_version %d: %.200s", target.group, target.version, msg.Data)
				}
				l.mu.Lock()
				l.queries.ok++
				l.mu.Unlock()
				break
			}
			if code != string(events.CodeUnavailable) && code != string(events.CodeTimeout) && code != nats.ErrTimeout.Error() && code != nats.ErrNoResponders.Error() {
				l.fail("query %s min_version %d: %s", target.group, target.version, code)
				break
			}
			if time.Now().After(end) {
				l.fail("query %s min_version %d: no answer in %s (last: %s)", target.group, target.version, l.cfg.answerWithin, code)
				break
			}
			l.mu.Lock()
			l.queries.retried++
			l.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// maxAckGap is the longest time without any acknowledged command in a
// window around a fault: between consecutive acks where the second falls
// after from, up to the first ack after to (or to itself if none came).
func (l *load) maxAckGap(from, to time.Time) time.Duration {
	l.mu.Lock()
	ts := append([]time.Time(nil), l.ackTimes...)
	l.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var gap time.Duration
	prev := from
	for _, t := range ts {
		if t.Before(from) {
			prev = t
			continue
		}
		gap = max(gap, t.Sub(prev))
		prev = t
		if t.After(to) {
			return gap
		}
	}
	return max(gap, to.Sub(prev))
}

// firstAckAfter is the time of the first acknowledgement after at (zero
// time when there is none).
func (l *load) firstAckAfter(at time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, t := range l.ackTimes {
		if t.After(at) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

// ackedEventIDs returns the ids of every event of an acknowledged command.
func (l *load) ackedEventIDs() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := map[string]bool{}
	for _, s := range l.sent {
		if s.result == acked {
			for _, id := range s.eventIDs {
				ids[id] = true
			}
		}
	}
	return ids
}

func (l *load) counts() (acks, dups, rej, unres int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.sent {
		switch s.result {
		case acked:
			acks++
			if s.duplicate {
				dups++
			}
		case rejected:
			rej++
		case unresolved:
			unres++
		}
	}
	return
}
