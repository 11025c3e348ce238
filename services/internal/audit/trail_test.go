package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// The commands table is exact (docs/adr/0025): accepted rows come from the
// commits in ROSTER_EVENTS, every other outcome is stored before the
// caller hears it, and an append whose result was unknown is never
// recorded as a rejection.

// TestAcceptedRowsComeFromCommits appends commits straight to ROSTER_EVENTS
// (no command service, no publisher): the sink writes their accepted rows,
// from the reception headers when present; a redelivered commit (the
// sink's consumer re-created from the start) still makes one row.
func TestAcceptedRowsComeFromCommits(t *testing.T) {
	ns := natstest.Start(t)
	ch := audit.NewTestClickHouse(t)
	conn := audit.OpenTestClickHouse(t, ch)
	ctx := context.Background()
	stream, err := eventstore.Provision(ctx, ns.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(ns.JS, stream)

	received := time.Date(2026, 5, 4, 10, 0, 0, 123456000, time.UTC)
	c1 := testCommit("G", "c1", "group.create", 1, received.Add(time.Millisecond))
	r1, err := store.Append(ctx, c1, 0,
		eventstore.WithHeader(audit.HeaderReceivedAt, strconv.FormatInt(received.UnixMicro(), 10)),
		eventstore.WithHeader(audit.HeaderPayloadSHA256, fmt.Sprintf("%064x", 7)),
		eventstore.WithHeader(audit.HeaderPayloadSize, "42"),
		eventstore.WithHeader(audit.HeaderLatency, "830"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// An older writer: no reception headers at all.
	c2 := testCommit("G", "c2", "member.invite", 2, received.Add(time.Second))
	if _, err := store.Append(ctx, c2, r1.Seq); err != nil {
		t.Fatal(err)
	}

	stop := audit.StartSink(t, ns.JS, audit.SinkConfig{ClickHouse: ch})
	audit.WaitRows(t, conn, ch.Database, "commands", 2, 10*time.Second)
	r := audit.Reader{Conn: conn, DB: ch.Database}
	byCmd := commandsByID(t, r, "G")
	want1 := audit.Command{
		ID: "commit:" + c1.Events[0].ID, CommandID: "c1", Subject: "roster.cmd.group.create", GroupID: "G",
		Actor: "o", Outcome: audit.OutcomeAccepted, Version: 1, LatencyUS: 830, ReceivedAt: received,
		PayloadHash: fmt.Sprintf("%064x", 7), PayloadSize: 42,
	}
	want2 := audit.Command{
		ID: "commit:" + c2.Events[0].ID, CommandID: "c2", Subject: "roster.cmd.member.invite", GroupID: "G",
		Actor: "o", Outcome: audit.OutcomeAccepted, Version: 2, ReceivedAt: c2.Events[0].OccurredAt,
	}
	for _, want := range []audit.Command{want1, want2} {
		have := byCmd[want.CommandID]
		if len(have) != 1 || !have[0].ReceivedAt.Equal(want.ReceivedAt) {
			t.Fatalf("%s: want %+v, have %+v", want.CommandID, want, have)
		}
		have[0].ReceivedAt = want.ReceivedAt
		if have[0] != want {
			t.Errorf("%s:\nwant %+v\nhave %+v", want.CommandID, want, have[0])
		}
	}

	// Redelivery: the sink starts over from the first commit.
	stop()
	if err := stream.DeleteConsumer(ctx, "roster-auditsink-events"); err != nil {
		t.Fatal(err)
	}
	audit.StartSink(t, ns.JS, audit.SinkConfig{ClickHouse: ch})
	natstest.Eventually(t, 10*time.Second, func() error {
		info, err := ns.JS.Consumer(ctx, events.StreamName, "roster-auditsink-events")
		if err != nil {
			return err
		}
		ci, err := info.Info(ctx)
		if err != nil {
			return err
		}
		if ci.Delivered.Stream != r1.Seq+1 || ci.NumAckPending != 0 {
			return fmt.Errorf("re-created consumer: delivered up to %d, %d unacknowledged", ci.Delivered.Stream, ci.NumAckPending)
		}
		return nil
	})
	audit.WaitRows(t, conn, ch.Database, "commands", 2, 10*time.Second)
	audit.WaitRows(t, conn, ch.Database, "events", 2, 10*time.Second)
}

func testCommit(group, commandID, command string, version uint64, at time.Time) events.Commit {
	return events.Commit{CommandID: commandID, Command: command, GroupID: group, Events: []events.Event{{
		ID: fmt.Sprintf("ev-%s-%d", group, version), Type: events.MemberInvited, SchemaVersion: 1, GroupID: group,
		Version: version, OccurredAt: at.UTC(), CommandID: commandID, CorrelationID: commandID, Actor: "o",
		Data: json.RawMessage(`{"user_ids":["a"]}`),
	}}}
}

func commandsByID(t *testing.T, r audit.Reader, group string) map[string][]audit.Command {
	t.Helper()
	cmds, err := r.Commands(context.Background(), audit.Filter{GroupID: group})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]audit.Command{}
	for _, c := range cmds {
		out[c.CommandID] = append(out[c.CommandID], c)
	}
	return out
}

// startGroups runs the command service on nc (its JetStream from nc)
// with rec as its audit recorder, until the test ends.
func startGroups(t *testing.T, nc *nats.Conn, rec audit.Recorder, auditTimeout time.Duration) *groups.Service {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{
		NC: nc, JS: js, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), Audit: rec,
		AuditTimeout: auditTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(t, nc, groups.ServiceName, len(groups.CommandNames()))
	return svc
}

// lastCommandRecord is the newest roster.audit.command record in
// ROSTER_AUDIT.
func lastCommandRecord(t *testing.T, js jetstream.JetStream) audit.Command {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, audit.Subject(audit.KindCommand))
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.DecodeRecord(audit.KindCommand, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return r.(audit.Command)
}

// TestNonAcceptedOutcomesStoredBeforeReply: by the time a caller has a
// rejection or a duplicate reply, its record is in ROSTER_AUDIT; an
// acceptance publishes no record at all (its row comes from the commit).
// ClickHouse ends with one row per outcome.
func TestNonAcceptedOutcomesStoredBeforeReply(t *testing.T) {
	ns := natstest.Start(t)
	ch := audit.NewTestClickHouse(t)
	conn := audit.OpenTestClickHouse(t, ch)
	pub := audit.StartPublisher(t, ns.JS)
	audit.StartSink(t, ns.JS, audit.SinkConfig{ClickHouse: ch})
	startGroups(t, ns.NC, pub, 0)
	nc := ns.Connect(t)

	call(t, nc, "roster.cmd.group.create", map[string]any{"group_id": "R", "actor": "o", "name": "R", "command_id": "create-r"}, nil)
	s, err := ns.JS.Stream(context.Background(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLastMsgForSubject(context.Background(), audit.Subject(audit.KindCommand)); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("an accepted command published a record (or the lookup failed): %v", err)
	}

	body, _ := json.Marshal(map[string]any{"group_id": "R", "actor": "nobody", "user_ids": []string{"x"}, "command_id": "bad"})
	msg, err := nc.Request("roster.cmd.member.invite", body, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Nats-Service-Error-Code") != "403" {
		t.Fatalf("want a forbidden reply, have %s %s", msg.Header.Get("Nats-Service-Error-Code"), msg.Data)
	}
	if rec := lastCommandRecord(t, ns.JS); rec.Outcome != audit.OutcomeRejected || rec.ErrorCode != "forbidden" || rec.CommandID != "bad" {
		t.Fatalf("at the reply, ROSTER_AUDIT's last command record is %+v, want the forbidden rejection", rec)
	}

	var again groups.Reply
	call(t, nc, "roster.cmd.group.create", map[string]any{"group_id": "R", "actor": "o", "name": "R", "command_id": "create-r"}, &again)
	if rec := lastCommandRecord(t, ns.JS); rec.Outcome != audit.OutcomeDuplicate || rec.CommandID != "create-r" || rec.Version != again.Version {
		t.Fatalf("at the duplicate reply, ROSTER_AUDIT's last command record is %+v", rec)
	}

	audit.WaitRows(t, conn, ch.Database, "commands", 3, 10*time.Second)
	byCmd := commandsByID(t, audit.Reader{Conn: conn, DB: ch.Database}, "R")
	if have := outcomes(byCmd["create-r"]); have != "accepted,duplicate" {
		t.Errorf("create-r: want accepted and duplicate, have %s", have)
	}
	if have := outcomes(byCmd["bad"]); have != "rejected:forbidden" {
		t.Errorf("bad: want rejected:forbidden, have %s", have)
	}
}

// codeOf is the error code of a result, "" when it succeeded.
func codeOf(res groups.Result) events.Code {
	if res.Err == nil {
		return ""
	}
	return events.CodeOf(res.Err)
}

// outcomes lists rows as "outcome[:code]", sorted.
func outcomes(cmds []audit.Command) string {
	var out []string
	for _, c := range cmds {
		s := c.Outcome
		if c.ErrorCode != "" {
			s += ":" + c.ErrorCode
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestUnrecordableRejectionAnswersUnavailable: when ROSTER_AUDIT cannot
// take the record (here: the audit recorder's server has no such stream),
// a rejection is answered unavailable, so no caller ever holds a rejection
// the trail lacks. Acceptances do not depend on ROSTER_AUDIT.
func TestUnrecordableRejectionAnswersUnavailable(t *testing.T) {
	ns := natstest.Start(t)
	elsewhere := natstest.Start(t) // no ROSTER_AUDIT there: every publish fails
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: elsewhere.JS, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	svc := startGroups(t, ns.NC, pub, 300*time.Millisecond)
	ctx := context.Background()

	if res := svc.Execute(ctx, "group.create", []byte(`{"group_id":"U","actor":"o","name":"U"}`), ""); res.Err != nil {
		t.Fatalf("accepted command: %v", res.Err)
	}
	start := time.Now()
	res := svc.Execute(ctx, "member.invite", []byte(`{"group_id":"U","actor":"nobody","user_ids":["x"]}`), "")
	if code := events.CodeOf(res.Err); code != events.CodeUnavailable {
		t.Fatalf("rejection without a trail: want unavailable, have %v", res.Err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the audit wait took %s, want it bounded by AuditTimeout (300ms)", took)
	}
}

// laggyLink is a TCP relay in front of a NATS server whose server-to-client
// direction a test can hold: the client's publishes reach the server and are
// stored, but their acks wait in the relay (a stalled network path, as in a
// leader failover). Released, the held bytes flow on in order.
type laggyLink struct {
	target string
	addr   string
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
}

func newLaggyLink(t *testing.T, target string) *laggyLink {
	t.Helper()
	l := &laggyLink{target: target}
	l.cond = sync.NewCond(&l.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	var conns []net.Conn
	var cmu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		l.release()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cmu.Lock()
			conns = append(conns, c, u)
			cmu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { l.downstream(c, u); c.Close() }()
		}
	}()
	return l
}

// downstream relays server bytes to the client, waiting while held.
func (l *laggyLink) downstream(client, server net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			l.mu.Lock()
			for l.held {
				l.cond.Wait()
			}
			l.mu.Unlock()
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *laggyLink) hold() {
	l.mu.Lock()
	l.held = true
	l.mu.Unlock()
}

func (l *laggyLink) release() {
	l.mu.Lock()
	l.held = false
	l.cond.Broadcast()
	l.mu.Unlock()
}

// TestUncertainAppendEndsAccepted is the operator's failover case: an
// append whose ack never reached the command service before its deadline,
// although JetStream stored the commit. The caller is told unavailable,
// the trail records the reception as uncertain (never rejected), the
// commit yields the accepted row, and the caller's retry is a duplicate.
func TestUncertainAppendEndsAccepted(t *testing.T) {
	ns := natstest.Start(t)
	ch := audit.NewTestClickHouse(t)
	conn := audit.OpenTestClickHouse(t, ch)
	pub := audit.StartPublisher(t, ns.JS) // its own, direct connection
	audit.StartSink(t, ns.JS, audit.SinkConfig{ClickHouse: ch})

	link := newLaggyLink(t, ns.NS.Addr().String())
	gnc, err := nats.Connect("nats://"+link.addr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gnc.Close)
	svc := startGroups(t, gnc, pub, 0)
	ctx := context.Background()
	if res := svc.Execute(ctx, "group.create", []byte(`{"group_id":"F","actor":"o","name":"F"}`), ""); res.Err != nil {
		t.Fatal(res.Err)
	}

	invite := []byte(`{"group_id":"F","actor":"o","user_ids":["a"],"command_id":"inv-1"}`)
	link.hold()
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	res := svc.Execute(tctx, "member.invite", invite, "")
	cancel()
	link.release()
	if code := events.CodeOf(res.Err); code != events.CodeUnavailable {
		t.Fatalf("append without its ack: want unavailable, have %+v", res)
	}
	// JetStream did store it.
	stream, err := ns.JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetLastMsgForSubject(ctx, events.Subject("F"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(eventstore.HeaderCommandID); got != "inv-1" {
		t.Fatalf("last commit of F is %q, want the timed-out inv-1 stored", got)
	}
	if rec := lastCommandRecord(t, ns.JS); rec.Outcome != audit.OutcomeUncertain || rec.ErrorCode != "unavailable" || rec.CommandID != "inv-1" {
		t.Fatalf("at the reply, ROSTER_AUDIT's last command record is %+v, want inv-1 uncertain", rec)
	}

	// The caller retries: the command is found stored.
	again := svc.Execute(ctx, "member.invite", invite, "")
	if again.Err != nil || !again.Duplicate {
		t.Fatalf("retry: want a duplicate reply, have %+v", again)
	}

	audit.WaitRows(t, conn, ch.Database, "commands", 4, 10*time.Second) // create, inv-1 x3
	byCmd := commandsByID(t, audit.Reader{Conn: conn, DB: ch.Database}, "F")
	if have := outcomes(byCmd["inv-1"]); have != "accepted,duplicate,uncertain:unavailable" {
		t.Errorf("inv-1: want one accepted, one duplicate and the uncertain reception, have %s", have)
	}
	for _, c := range byCmd["inv-1"] {
		if c.Outcome == audit.OutcomeAccepted && (c.Version != 2 || c.PayloadSize != len(invite)) {
			t.Errorf("accepted row of inv-1: version %d payload %d bytes, want 2 and %d", c.Version, c.PayloadSize, len(invite))
		}
	}
}

// TestFailoverTrailIsExact replays the operator's report on a real 3-node
// cluster: clients keep sending commands (retrying unavailable with the
// same command_id, as docs/commands.md tells them) while the ROSTER_EVENTS
// leader's node stops. Whatever timed out, the trail must hold exactly one
// accepted row per stored commit, none for a command not stored, never a
// rejection of a stored command, and a row for every non-accepted reply
// the clients received.
func TestFailoverTrailIsExact(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ch := audit.NewTestClickHouse(t)
	conn := audit.OpenTestClickHouse(t, ch)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	pub, err := audit.NewPublisher(audit.PublisherConfig{JS: c.JS, Log: log, Stream: audit.StreamConfig{Replicas: 3}})
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	pdone := make(chan struct{})
	go func() { _ = pub.Run(pctx); close(pdone) }()
	t.Cleanup(func() { pcancel(); <-pdone })
	ctx := context.Background()
	natstest.Eventually(t, 20*time.Second, func() error { // until every peer has joined
		_, err := audit.Provision(ctx, c.JS, audit.StreamConfig{Replicas: 3})
		return err
	})
	svc, err := groups.New(ctx, groups.Config{NC: c.NC, JS: c.JS, Log: log, Audit: pub,
		Stream: eventstore.StreamConfig{Replicas: 3}, SnapshotEvery: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}

	const workers, perWorker = 4, 25
	type reply struct {
		commandID string
		code      events.Code // "" when accepted
		duplicate bool
	}
	var (
		mu      sync.Mutex
		replies []reply
		wg      sync.WaitGroup
		started sync.WaitGroup
	)
	started.Add(workers)
	for w := range workers {
		group := fmt.Sprintf("W%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := svc.Execute(ctx, "group.create", []byte(`{"group_id":"`+group+`","actor":"o","name":"w","command_id":"create"}`), "")
			mu.Lock()
			replies = append(replies, reply{commandID: "create", code: codeOf(res), duplicate: res.Duplicate})
			mu.Unlock()
			for i := range perWorker {
				if i == 5 {
					started.Done()
				}
				body := fmt.Sprintf(`{"group_id":%q,"actor":"o","user_ids":["u%d"],"command_id":"c%d"}`, group, i, i)
				for attempt := 0; attempt < 200; attempt++ {
					actx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
					res := svc.Execute(actx, "member.invite", []byte(body), "")
					cancel()
					mu.Lock()
					replies = append(replies, reply{commandID: group + "/" + fmt.Sprintf("c%d", i), code: codeOf(res), duplicate: res.Duplicate})
					mu.Unlock()
					if codeOf(res) != events.CodeUnavailable {
						break
					}
					// The client's own retry pause (not a test wait).
					<-time.After(20 * time.Millisecond)
				}
			}
		}()
	}
	started.Wait()
	leader := c.StreamLeader(t, events.StreamName, 10*time.Second)
	c.Stop(leader)
	wg.Wait()
	c.Restart(t, leader)

	// The truth: the commits in ROSTER_EVENTS.
	stored := map[string]bool{}
	s, err := c.JS.Stream(ctx, events.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := eventstore.DecodeCommit(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		key := cm.GroupID + "/" + cm.CommandID
		if cm.CommandID == "create" {
			key = "create/" + cm.GroupID
		}
		if stored[key] {
			t.Fatalf("commit %s stored twice", key)
		}
		stored[key] = true
	}
	if len(stored) != workers*(perWorker+1) {
		t.Fatalf("want every command stored in the end (clients retried until answered), have %d of %d", len(stored), workers*(perWorker+1))
	}

	audit.StartSink(t, c.JS, audit.SinkConfig{ClickHouse: ch, Stream: audit.StreamConfig{Replicas: 3}})
	var nonAccepted int
	tally := map[string]int{}
	for _, r := range replies {
		switch {
		case r.code == "" && !r.duplicate:
			tally["accepted"]++
		case r.code == "":
			tally["duplicate"]++
			nonAccepted++
		default:
			tally[string(r.code)]++
			nonAccepted++
		}
	}
	t.Logf("replies: %v", tally)
	rd := audit.Reader{Conn: conn, DB: ch.Database}
	var rows []audit.Command
	natstest.Eventually(t, 30*time.Second, func() error {
		rows = rows[:0]
		for w := range workers {
			cmds, err := rd.Commands(ctx, audit.Filter{GroupID: fmt.Sprintf("W%d", w), Limit: 10000})
			if err != nil {
				return err
			}
			rows = append(rows, cmds...)
		}
		accepted := 0
		for _, r := range rows {
			if r.Outcome == audit.OutcomeAccepted {
				accepted++
			}
		}
		if accepted != len(stored) || len(rows) < len(stored)+nonAccepted {
			return fmt.Errorf("%d accepted rows of %d commits, %d rows for %d non-accepted replies", accepted, len(stored), len(rows)-accepted, nonAccepted)
		}
		return nil
	})
	keyOf := func(r audit.Command) string {
		if r.CommandID == "create" {
			return "create/" + r.GroupID
		}
		return r.GroupID + "/" + r.CommandID
	}
	// The accepted row carries its reception's time (the commit's
	// Roster-Received-At); a row of the same reception recorded by
	// roster-groups has the same time and must not be a rejection. Later
	// receptions of a stored command may be rejected (e.g. a load that
	// failed before any append): they changed nothing.
	acceptedAt := map[string]time.Time{}
	byOutcome := map[string]int{}
	for _, r := range rows {
		byOutcome[r.Outcome+":"+r.ErrorCode]++
		if r.Outcome != audit.OutcomeAccepted {
			continue
		}
		key := keyOf(r)
		if _, twice := acceptedAt[key]; twice {
			t.Errorf("%s: two accepted rows", key)
		}
		acceptedAt[key] = r.ReceivedAt
		if !stored[key] {
			t.Errorf("accepted row for %s, which is not stored", key)
		}
	}
	for key := range stored {
		if _, ok := acceptedAt[key]; !ok {
			t.Errorf("%s is stored but has no accepted row", key)
		}
	}
	for _, r := range rows {
		if at, ok := acceptedAt[keyOf(r)]; ok && r.Outcome != audit.OutcomeAccepted && r.ReceivedAt.Equal(at) && r.Outcome != audit.OutcomeUncertain {
			t.Errorf("%s: the reception that stored it is recorded %s %s", keyOf(r), r.Outcome, r.ErrorCode)
		}
	}
	t.Logf("rows: %v", byOutcome)
}
