package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// proxy is a TCP proxy in front of the real ClickHouse server that a test
// can cut (closing every connection and refusing new ones) and restore: a
// ClickHouse outage as the sink sees it, without stopping a server other
// tests share.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	var ln net.Listener
	natstest.Eventually(t, 5*time.Second, func() error {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		return err
	})
	p.serve(ln)
}

// clickhouseAddr is the host:port of the test server's DSN.
func clickhouseAddr(t *testing.T, cfg ClickHouseConfig) string {
	opts, _, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	return opts.Addr[0]
}

// TestSinkSurvivesClickHouseOutage cuts ClickHouse off while records keep
// flowing, restores it, and checks every record arrived once.
func TestSinkSurvivesClickHouseOutage(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	px := newProxy(t, clickhouseAddr(t, ch))
	viaProxy := ch
	viaProxy.DSN = "clickhouse://" + px.addr
	viaProxy.DialTimeout = 500 * time.Millisecond
	pub := StartPublisher(t, ns.JS)
	reg := prometheus.NewRegistry()
	m := sinkMetrics(t, reg)
	StartSink(t, ns.JS, SinkConfig{ClickHouse: viaProxy, BatchSize: 50, Metrics: reg})

	const n = 300
	for i := range 100 {
		MustRecord(t, pub, SampleCommand(i, "A"))
	}
	FlushPublisher(t, pub)
	WaitRows(t, conn, ch.Database, "commands", 100, 10*time.Second)

	failures := testutil.ToFloat64(m.InsertErrors.WithLabelValues("transient"))
	px.cut()
	for i := 100; i < n; i++ {
		MustRecord(t, pub, SampleCommand(i, "A"))
		if i%50 == 0 {
			FlushPublisher(t, pub)
		}
	}
	FlushPublisher(t, pub)
	// The sink is failing to insert: the records wait in JetStream.
	natstest.Eventually(t, 10*time.Second, func() error {
		if have := testutil.ToFloat64(m.InsertErrors.WithLabelValues("transient")); have <= failures {
			return errors.New("sink has not noticed the outage yet")
		}
		return nil
	})
	rows, _, err := finalCount(context.Background(), conn, ch.Database, "commands")
	if err != nil {
		t.Fatal(err)
	}
	if rows >= n {
		t.Fatalf("want records held back during the outage, have all %d in ClickHouse", rows)
	}
	px.restore(t)
	WaitRows(t, conn, ch.Database, "commands", n, 30*time.Second)
}

// TestSinkKilledMidBatch kills a sink after ClickHouse took a batch and
// before it acknowledged it; a second sink gets the batch again and the
// table still shows every record once.
func TestSinkKilledMidBatch(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	pub := StartPublisher(t, ns.JS)

	const n = 200
	for i := range n {
		MustRecord(t, pub, SampleAttempt(i, "ep1"))
	}
	FlushPublisher(t, pub)

	reg := prometheus.NewRegistry()
	m := sinkMetrics(t, reg)
	inserted := testutil.ToFloat64(m.Rows.WithLabelValues("delivery_attempts"))
	nc1 := ns.Connect(t)
	js1, err := jetstream.New(nc1)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	killed := make(chan struct{})
	var stop1 func()
	cfg := SinkConfig{ClickHouse: ch, BatchSize: 80, AckWait: time.Second, Backoff: Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}, Metrics: reg}
	cfg.afterInsert = func() {
		once.Do(func() {
			nc1.Close() // the acks of this batch never leave
			close(killed)
		})
	}
	stop1 = StartSink(t, js1, cfg)
	<-killed
	stop1()

	cfg.afterInsert = nil
	StartSink(t, ns.JS, cfg)
	WaitRows(t, conn, ch.Database, "delivery_attempts", n, 20*time.Second)
	// The killed batch really was written twice: the dedup did the work.
	if have := testutil.ToFloat64(m.Rows.WithLabelValues("delivery_attempts")) - inserted; have <= n {
		t.Errorf("want more than %d rows inserted (a redelivered batch), have %v", n, have)
	}
}

// TestSinkDeadLetters publishes records the sink can never write; each
// lands in the dead-letter subject with its reason, and the good records
// around them still land.
func TestSinkDeadLetters(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	if _, err := Provision(context.Background(), ns.JS, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	StartSink(t, ns.JS, SinkConfig{ClickHouse: ch})

	good, _ := json.Marshal(SampleCommand(1, "A"))
	badTime := SampleCommand(2, "A")
	badTime.ReceivedAt = time.Time{}
	badTimeJSON, _ := json.Marshal(badTime)
	tests := []struct {
		name    string
		subject string
		data    string
		reason  string
	}{
		{name: "not JSON", subject: Subject(KindCommand), data: "not json", reason: "want a JSON object"},
		{name: "unknown field", subject: Subject(KindEndpointChange), data: `{"id":"x","endpoint_id":"e","change":"created","at":"2026-01-01T00:00:00Z","secret":"s"}`, reason: `unknown field "secret"`},
		{name: "wrong shape", subject: Subject(KindCommand), data: string(badTimeJSON), reason: "received_at"},
		{name: "unknown kind", subject: SubjectPrefix + "nonsense", data: string(good), reason: `unknown record kind "nonsense"`},
		{name: "broken commit", subject: "roster.events.G", data: `{"command_id":"c","group_id":"G","events":[]}`, reason: "no events"},
	}
	for _, tc := range tests {
		if _, err := ns.JS.Publish(context.Background(), tc.subject, []byte(tc.data)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if _, err := ns.JS.Publish(context.Background(), Subject(KindCommand), good); err != nil {
		t.Fatal(err)
	}

	stream, err := ns.JS.Stream(context.Background(), StreamName)
	if err != nil {
		t.Fatal(err)
	}
	dead := map[string]*jetstream.RawStreamMsg{}
	natstest.Eventually(t, 10*time.Second, func() error {
		info, err := stream.Info(context.Background(), jetstream.WithSubjectFilter(DeadLetterSubject))
		if err != nil {
			return err
		}
		if have := info.State.Subjects[DeadLetterSubject]; have != uint64(len(tests)) {
			return fmt.Errorf("want %d dead letters, have %d", len(tests), have)
		}
		return nil
	})
	for seq := uint64(1); ; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == DeadLetterSubject {
			dead[string(m.Data)] = m
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := dead[tc.data]
			if !ok {
				t.Fatalf("no dead letter carries %q", tc.data)
			}
			if reason := m.Header.Get(HeaderDeadLetterReason); !strings.Contains(reason, tc.reason) {
				t.Errorf("reason: want it to contain %q, have %q", tc.reason, reason)
			}
			if have := m.Header.Get(HeaderDeadLetterSubject); have != tc.subject {
				t.Errorf("original subject: want %q, have %q", tc.subject, have)
			}
		})
	}
	WaitRows(t, conn, ch.Database, "commands", 1, 10*time.Second)
}

// TestSinkHoldsTwoBatchesAheadDuringOutage: while ClickHouse is down, the
// sink holds the batch it retries and at most two decoded batches ahead of
// it (docs/adr/0113), acknowledges none of them, and keeps all three from
// being redelivered
// (longer than the ack wait); when ClickHouse returns, every record is
// inserted exactly once.
func TestSinkHoldsTwoBatchesAheadDuringOutage(t *testing.T) {
	ns := natstest.Start(t)
	ch := NewTestClickHouse(t)
	conn := OpenTestClickHouse(t, ch)
	px := newProxy(t, clickhouseAddr(t, ch))
	viaProxy := ch
	viaProxy.DSN = "clickhouse://" + px.addr
	viaProxy.DialTimeout = 200 * time.Millisecond

	pub := StartPublisher(t, ns.JS)
	const n, batch = 100, 20
	for i := range n {
		MustRecord(t, pub, SampleCommand(i, "A"))
	}
	FlushPublisher(t, pub)
	reg := prometheus.NewRegistry()
	m := sinkMetrics(t, reg)
	inserted := testutil.ToFloat64(m.Rows.WithLabelValues("commands"))
	failures := testutil.ToFloat64(m.InsertErrors.WithLabelValues("transient"))
	// ClickHouse goes down just before the first insert (the sink's
	// start-up migration needs it up).
	cfg := SinkConfig{ClickHouse: viaProxy, BatchSize: batch, AckWait: time.Second,
		Backoff: Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond}, Metrics: reg}
	var cutOnce sync.Once
	cfg.beforeInsert = func() { cutOnce.Do(px.cut) }
	StartSink(t, ns.JS, cfg)

	// Retry for well over the ack wait: 15 failures with this backoff take
	// more than 2 s.
	natstest.Eventually(t, 20*time.Second, func() error {
		if have := testutil.ToFloat64(m.InsertErrors.WithLabelValues("transient")) - failures; have < 15 {
			return fmt.Errorf("want 15 failed inserts, have %v", have)
		}
		return nil
	})
	stream, err := ns.JS.Stream(context.Background(), StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.Consumer(context.Background(), "roster-auditsink")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 {
		t.Errorf("want nothing acknowledged while ClickHouse is down, have ack floor %d", info.AckFloor.Stream)
	}
	if info.NumAckPending != 3*batch {
		t.Errorf("want 3 batches held (retried + two ahead), have %d messages", info.NumAckPending)
	}
	if info.NumRedelivered != 0 {
		t.Errorf("want no redelivery while the sink holds the batches, have %d", info.NumRedelivered)
	}

	px.restore(t)
	WaitRows(t, conn, ch.Database, "commands", n, 30*time.Second)
	if have := testutil.ToFloat64(m.Rows.WithLabelValues("commands")) - inserted; have != n {
		t.Errorf("want each record inserted once, have %v rows inserted for %d records", have, n)
	}
}
