package edge

import (
	"context"
	"sync"
	"time"
)

// requestContext is a request's context: no parent, a deadline, and a
// cancel for when the request is answered. It is context.WithTimeout
// with the timer made only when something asks for Done (a load, a
// policy hook, a child context): most commands never wait on their
// context, and a timer and its context per request were about a tenth of
// roster-groups' own CPU per command (docs/performance.md, issue 14,
// second session). Once made, the standard context does the work, so
// children attach to it as to any cancelCtx.
type requestContext struct {
	deadline time.Time

	mu       sync.Mutex
	inner    context.Context // nil until Done or Value needs it
	cancel   context.CancelFunc
	canceled bool
}

var _ context.Context = (*requestContext)(nil)

func newRequestContext(timeout time.Duration) *requestContext {
	return &requestContext{deadline: time.Now().Add(timeout)}
}

// made returns the standard context behind c, making it on first use.
// c.mu is held.
func (c *requestContext) made() context.Context {
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(context.Background(), c.deadline)
		if c.canceled {
			c.cancel()
		}
	}
	return c.inner
}

func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made().Done()
}

// Err is what the standard context would say, without making it: once
// Err is not nil, Done (made now or before) is closed too.
func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.inner != nil:
		return c.inner.Err()
	case c.canceled:
		return context.Canceled
	case !time.Now().Before(c.deadline):
		return context.DeadlineExceeded
	}
	return nil
}

// Value holds no value of its own; it answers the context package's
// lookups of the cancelCtx behind c (made by then: the package asks Done
// first), so children do not each start a goroutine to watch c.
func (c *requestContext) Value(key any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		return nil
	}
	return c.inner.Value(key)
}

// end cancels c: the request is answered.
func (c *requestContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled = true
	if c.cancel != nil {
		c.cancel()
	}
}
