package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// fixture is a real NATS server with ROSTER_EVENTS provisioned as the
// event store does, and a writer that decides commands with the domain and
// appends commits with optimistic concurrency, as the command service does.
type fixture struct {
	t      *testing.T
	srv    *natstest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream

	mu      sync.Mutex
	states  map[string]*group.State
	lastSeq map[string]uint64
	n       int
	clock   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := natstest.Start(t)
	nc, js := srv.ConnectJS(t)
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamName, Subjects: []string{events.SubjectPrefix + ">"}, Storage: jetstream.FileStorage,
		DenyDelete: true, DenyPurge: true, AllowDirect: true, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	return &fixture{t: t, srv: srv, nc: nc, js: js, stream: stream,
		states: map[string]*group.State{}, lastSeq: map[string]uint64{},
		clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// do decides cmd by actor on groupID and appends the commit; it returns the
// group's new version. A rejected command fails the test.
func (f *fixture) do(groupID, actor string, cmd group.Command) uint64 {
	f.t.Helper()
	v, err := f.tryDo(context.Background(), f.js, groupID, actor, cmd)
	if err != nil {
		f.t.Fatalf("%s %s by %s: %v", cmd.Kind(), groupID, actor, err)
	}
	return v
}

func (f *fixture) tryDo(ctx context.Context, js jetstream.JetStream, groupID, actor string, cmd group.Command) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.states[groupID]
	if s == nil {
		s = group.New(groupID)
		f.states[groupID] = s
	}
	f.clock = f.clock.Add(time.Second)
	changes, err := group.Decide(s, actor, cmd, f.clock)
	if err != nil {
		return 0, err
	}
	f.n++
	c := events.Commit{CommandID: "cmd-" + strconv.Itoa(f.n), Command: cmd.Kind(), GroupID: groupID}
	for i, ch := range changes {
		data, err := json.Marshal(ch.Data)
		if err != nil {
			return 0, err
		}
		c.Events = append(c.Events, events.Event{
			ID: fmt.Sprintf("ev-%d-%d", f.n, i), Type: ch.Type, SchemaVersion: events.SchemaVersions[ch.Type],
			GroupID: groupID, Version: s.Version + uint64(i) + 1, OccurredAt: f.clock,
			CommandID: c.CommandID, Actor: actor, Data: data,
		})
	}
	seq, err := appendCommit(ctx, js, c, f.lastSeq[groupID])
	if err != nil {
		return 0, err
	}
	f.lastSeq[groupID] = seq
	for _, e := range c.Events {
		if _, err := s.Apply(e); err != nil {
			return 0, err
		}
	}
	return s.Version, nil
}

// appendCommit writes c as the event store does (same headers, same OCC).
func appendCommit(ctx context.Context, js jetstream.JetStream, c events.Commit, expected uint64) (uint64, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	m := nats.NewMsg(events.Subject(c.GroupID))
	m.Data = body
	m.Header.Set("Roster-Command-Id", c.CommandID)
	m.Header.Set("Roster-Command", c.Command)
	m.Header.Set("Roster-Version", strconv.FormatUint(c.LastVersion(), 10))
	m.Header.Set("Roster-Event-Count", strconv.Itoa(len(c.Events)))
	ack, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(expected), jetstream.WithMsgID(c.GroupID+":"+c.CommandID))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// running is a component started by a test, stopped at the latest when
// the test ends.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// stop cancels the component and returns what its run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, 20*time.Second)
}

// wait returns what the component's run returned once it has ended.
func (r *running) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatal("component did not stop")
		return nil
	}
}

func start(t *testing.T, run func(ctx context.Context) error) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

func (f *fixture) projector(cfg Config) (*Projector, *running) {
	f.t.Helper()
	if cfg.JS == nil {
		cfg.JS = f.js
	}
	cfg.Log = testLog(f.t)
	if cfg.AckWait == 0 {
		cfg.AckWait = 2 * time.Second
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 20 * time.Millisecond
	}
	p, err := NewProjector(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return p, start(f.t, p.Run)
}

func (f *fixture) queries() *running {
	f.t.Helper()
	nc, js := f.srv.ConnectJS(f.t)
	q, err := NewQueries(QueryConfig{NC: nc, JS: js, Log: testLog(f.t), MaxWait: 300 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	r := start(f.t, q.Run)
	natstest.Eventually(f.t, 10*time.Second, func() error {
		if q.active.Load() == nil {
			return errors.New("no active generation yet")
		}
		return nil
	})
	return r
}

type replyErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// query sends req and decodes a success reply into out (when non-nil); it
// returns the error reply, if any.
func (f *fixture) query(subject string, req any, out any) *replyErr {
	f.t.Helper()
	var body []byte
	switch r := req.(type) {
	case string:
		body = []byte(r)
	default:
		var err error
		if body, err = json.Marshal(req); err != nil {
			f.t.Fatal(err)
		}
	}
	msg, err := f.nc.Request(subject, body, 10*time.Second)
	if err != nil {
		f.t.Fatalf("%s: %v", subject, err)
	}
	var env struct {
		Error *replyErr `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &env); err != nil {
		f.t.Fatalf("%s: reply %q: %v", subject, msg.Data, err)
	}
	if env.Error != nil {
		return env.Error
	}
	if out != nil {
		if err := json.Unmarshal(msg.Data, out); err != nil {
			f.t.Fatalf("%s: reply %q: %v", subject, msg.Data, err)
		}
	}
	return nil
}

// dump reads every live key of a generation's bucket.
func dump(t *testing.T, js jetstream.JetStream, gen uint64) map[string]string {
	t.Helper()
	ctx := context.Background()
	m, err := kvmodel.Open(ctx, js, Generation{Number: gen, Bucket: BucketName(gen)}, kvmodel.Options{})
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return map[string]string{} // not created yet: callers poll
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openModel opens generation gen's bucket.
func openModel(t *testing.T, js jetstream.JetStream, gen uint64) *kvmodel.Model {
	t.Helper()
	m, err := kvmodel.Open(context.Background(), js, Generation{Number: gen, Bucket: BucketName(gen)}, kvmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expected computes the read model from the fixture's own fold: the
// oracle every projection must equal (applied_seq and first_seq included).
func (f *fixture) expected() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for g, s := range f.states {
		first := f.firstSeq(g)
		b, _ := json.Marshal(app.InfoFromState(s, f.lastSeq[g], first))
		out["g."+g] = string(b)
		for u, m := range s.Members {
			mb, _ := json.Marshal(app.MemberFromState(g, u, m))
			out["m."+g+"."+u] = string(mb)
			ub, _ := json.Marshal(UserGroup{GroupID: g, Role: m.Role, JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion})
			out["u."+u+"."+g] = string(ub)
		}
	}
	return out
}

func (f *fixture) firstSeq(g string) uint64 {
	m, err := f.stream.GetMsg(context.Background(), 1, jetstream.WithGetMsgSubject(events.Subject(g)))
	if err != nil {
		f.t.Fatalf("first commit of %s: %v", g, err)
	}
	return m.Sequence
}

func diff(want, have map[string]string) error {
	var errs []error
	for k, w := range want {
		if h, ok := have[k]; !ok {
			errs = append(errs, fmt.Errorf("missing %s", k))
		} else if h != w {
			errs = append(errs, fmt.Errorf("%s: want %s, have %s", k, w, h))
		}
		if len(errs) > 5 {
			break
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok && len(errs) <= 5 {
			errs = append(errs, fmt.Errorf("unexpected %s", k))
		}
	}
	if len(want) != len(have) {
		errs = append(errs, fmt.Errorf("want %d keys, have %d", len(want), len(have)))
	}
	return errors.Join(errs...)
}

// caughtUp waits until generation gen equals the fixture's oracle.
func (f *fixture) caughtUp(gen uint64, timeout time.Duration) {
	f.t.Helper()
	want := f.expected()
	natstest.Eventually(f.t, timeout, func() error {
		return diff(want, dump(f.t, f.js, gen))
	})
}
