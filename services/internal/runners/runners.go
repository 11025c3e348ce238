// Package runners reuses goroutines for short tasks: a task goes to a
// runner that is waiting for one, or starts a new runner, and a runner that
// has waited Idle for another task ends. A hot path that started a
// goroutine per task paid for growing each fresh goroutine's stack again
// (through net/http, or a request's decode and reply): 4-8% of the CPU in
// the dispatch and command benchmarks (ADRs 0101, 0115). The pool has no
// bound of its own: callers bound how many tasks run at once (a semaphore,
// the edge's in-flight slots), so there are never more busy runners than
// that, and idle ones go away.
package runners

import "time"

// Pool hands tasks to runners. The zero value is not usable: call New.
type Pool struct {
	idle  time.Duration
	tasks chan func() // unbuffered: a send succeeds only to a waiting runner
}

// New returns a Pool whose runners end after waiting idle for a task. The
// wait is on the real clock: how long an idle goroutine lingers is nobody's
// schedule.
func New(idle time.Duration) *Pool {
	return &Pool{idle: idle, tasks: make(chan func())}
}

// Go runs fn on a waiting runner, else on a new one.
func (p *Pool) Go(fn func()) {
	select {
	case p.tasks <- fn:
	default:
		go p.run(fn)
	}
}

// run runs fn, then whatever it is handed next, until it has waited
// p.idle for more.
func (p *Pool) run(fn func()) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		fn()
		idle.Reset(p.idle)
		select {
		case fn = <-p.tasks:
		case <-idle.C:
			return
		}
	}
}
