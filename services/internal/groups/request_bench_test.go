package groups_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// BenchmarkInviteOverNATS: invites over request/reply from parallel
// clients, through the edge's workers, decide, OCC append and reply: the
// service's own path beside the NATS round trip it cannot avoid. Groups
// are spread so that appends rarely conflict. Besides the wall time it
// reports cpu-µs/op, the CPU this process (clients, NATS server and
// service alike) spent per command: on a shared machine the wall time
// follows the other load, the CPU per command much less.
func BenchmarkInviteOverNATS(b *testing.B) {
	srv := natstest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := groups.New(ctx, groups.Config{NC: srv.Connect(b), JS: srv.JS, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	natstest.WaitEndpoints(b, srv.NC, groups.ServiceName, len(groups.CommandNames()))
	const groupsN = 64
	for g := range groupsN {
		msg, err := srv.NC.Request("roster.cmd.group.create", []byte(fmt.Sprintf(`{"group_id":"g%d","actor":"o","name":"g"}`, g)), 5*time.Second)
		if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "" {
			b.Fatalf("create: %v %s", err, msg.Data)
		}
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	cpu0 := processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"group_id":"g%d","actor":"o","user_ids":["u%d"]}`, i%groupsN, i)
			msg, err := srv.NC.Request("roster.cmd.member.invite", []byte(body), 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if msg.Header.Get("Nats-Service-Error-Code") != "" {
				b.Fatalf("invite: %s", msg.Data)
			}
		}
	})
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
