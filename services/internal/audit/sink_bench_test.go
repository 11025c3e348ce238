package audit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
	"github.com/rosterhq/roster/services/internal/audit/app"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// countingStore takes every batch at once and closes done when it has
// taken want records: the sink with a store that is never its bottleneck.
type countingStore struct {
	want int64
	n    atomic.Int64
	once sync.Once
	done chan struct{}
}

func (s *countingStore) Insert(_ context.Context, batch []record.Record) error {
	if s.n.Add(int64(len(batch))) >= s.want {
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

// BenchmarkSinkFromJetStream is the sink's JetStream side alone: 20,000
// command records published once to ROSTER_AUDIT by the publisher, then,
// per iteration, a fresh durable drained through the real pipeline (the
// auditstream source, decode, hand-over, per-message acks after each
// insert) into a store that only counts. It is how fast the sink goes when
// ClickHouse is not what it waits for (on a quiet machine it is not,
// docs/performance.md), and what each row costs the process, the embedded
// NATS server included: rows/s and CPU µs/row (getrusage).
func BenchmarkSinkFromJetStream(b *testing.B) {
	ns := natstest.Start(b)
	pub := StartPublisher(b, ns.JS)
	const n = 20_000
	for i := range n {
		MustRecord(b, pub, SampleCommand(i, "A"))
	}
	FlushPublisher(b, pub)
	ctx := context.Background()
	stream, err := ns.JS.Stream(ctx, StreamName)
	if err != nil {
		b.Fatal(err)
	}
	var wall, cpu time.Duration
	rows := 0
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		cons, err := auditstream.Consumer(ctx, stream, auditstream.ConsumerConfig{Name: name, AckWait: 6 * time.Second, MaxAckPending: 4000})
		if err != nil {
			b.Fatal(err)
		}
		store := &countingStore{want: n, done: make(chan struct{})}
		sink, err := app.NewSink(app.SinkConfig{Store: store, Log: zerolog.Nop(), Metrics: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		src := auditstream.NewSource(name, cons, ns.JS, decodeAuditMsg, zerolog.Nop())
		sctx, cancel := context.WithCancel(ctx)
		stopped := make(chan error, 1)
		cpu0, t0 := processCPU(), time.Now()
		go func() { stopped <- sink.Run(sctx, src) }()
		select {
		case <-store.done:
		case <-time.After(time.Minute):
			b.Fatalf("sink took %d of %d records in a minute", store.n.Load(), n)
		}
		wall += time.Since(t0)
		cpu += processCPU() - cpu0
		rows += n
		cancel()
		if err := <-stopped; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/row")
}

// processCPU is the user and system CPU this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
