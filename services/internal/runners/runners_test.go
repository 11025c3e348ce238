package runners_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/natsx/natstest"
	"github.com/rosterhq/roster/services/internal/runners"
)

// Every task runs, tasks handed out one after another reuse the runner
// that finished the last one, and idle runners end.
func TestPoolRunsEveryTaskReusesRunnersAndEndsIdleOnes(t *testing.T) {
	before := runtime.NumGoroutine()
	p := runners.New(50 * time.Millisecond)
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(8)
		for range 8 {
			p.Go(func() { ran.Add(1); wg.Done() })
		}
		wg.Wait()
	}
	if ran.Load() != 800 {
		t.Fatalf("ran %d of 800 tasks", ran.Load())
	}
	// 800 tasks, at most 8 at once: far fewer than 800 goroutines were
	// started, and the ones left end once idle.
	if n := runtime.NumGoroutine() - before; n > 16 {
		t.Errorf("%d runners alive for 8 tasks at a time", n)
	}
	natstest.Eventually(t, 5*time.Second, func() error {
		if n := runtime.NumGoroutine() - before; n > 0 {
			return fmt.Errorf("%d idle runners still alive", n)
		}
		return nil
	})
}
