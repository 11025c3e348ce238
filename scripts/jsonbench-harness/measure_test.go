//go:build ignore

package jsonbench

import (
	"syscall"
	"testing"
)

// measure runs op b.N times and reports, beside ns/op and allocs/op, the
// process's CPU time per op (cpu-ns/op: user + system, all threads, so
// garbage collection counts). On a shared machine wall time also counts
// the time other processes held the CPU; CPU time does not, so the
// comparison uses it. Run with -cpu=1 so that the collector competes with
// the candidate for one P, as it does in a busy service.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		op()
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		b.Fatal(err)
	}
	cpu := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	b.ReportMetric(float64(cpu(after)-cpu(before))/float64(b.N), "cpu-ns/op")
}
