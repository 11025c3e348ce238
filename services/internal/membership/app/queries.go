package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/events"
)

// Paging bounds (public contract).
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// QueriesConfig configures the query use cases.
type QueriesConfig struct {
	// Models gives the active generation of the read model.
	Models Models
	// History reads the event stream (changes, at_version).
	History History
	// Clock times min_version waits (default the real clock).
	Clock clockwork.Clock
	// MaxWait bounds how long a query with min_version waits for the
	// projection to reach that version (default 5s).
	MaxWait time.Duration
	// MaxInFlight bounds the queries reading at once (default 256):
	// waiting queries must not hold up the others.
	MaxInFlight int
	// MaxWaiting bounds queries parked on a min_version wait (default
	// DefaultMaxWaiting); they do not count against MaxInFlight, and one
	// more is refused unavailable at once.
	MaxWaiting int
	// MaxVersionAhead bounds how far beyond the projection's version of a
	// group min_version may be (default DefaultMaxVersionAhead).
	MaxVersionAhead uint64
}

func (c *QueriesConfig) setDefaults() {
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.MaxWait == 0 {
		c.MaxWait = 5 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 256
	}
	if c.MaxWaiting == 0 {
		c.MaxWaiting = DefaultMaxWaiting
	}
	if c.MaxVersionAhead == 0 {
		c.MaxVersionAhead = DefaultMaxVersionAhead
	}
}

// Validate reports every problem with c.
func (c QueriesConfig) Validate() error {
	var errs []error
	if c.Models == nil {
		errs = append(errs, errors.New("models are required"))
	}
	if c.History == nil {
		errs = append(errs, errors.New("history is required"))
	}
	if c.MaxWait < 0 || c.MaxWait > time.Minute {
		errs = append(errs, fmt.Errorf("max wait %s: must be 0..1m", c.MaxWait))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("max in flight must be positive"))
	}
	if c.MaxWaiting < 1 {
		errs = append(errs, errors.New("max waiting must be positive"))
	}
	return errors.Join(errs...)
}

// Queries are the membership queries, one use case per query_*.go file,
// answered from the active generation of the read model (and from the
// event stream for history). Safe for concurrent use.
type Queries struct {
	cfg QueriesConfig
	// workers holds a token per query reading (MaxInFlight), waiting one
	// per query parked on min_version (MaxWaiting).
	workers, waiting chan struct{}
}

// Config is the configuration the queries run with, defaults applied.
func (q *Queries) Config() QueriesConfig { return q.cfg }

// NewQueries validates cfg.
func NewQueries(cfg QueriesConfig) (*Queries, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("query config: %w", err)
	}
	return &Queries{cfg: cfg, workers: make(chan struct{}, cfg.MaxInFlight), waiting: make(chan struct{}, cfg.MaxWaiting)}, nil
}

// InFlight is the number of queries holding a worker slot (metrics, tests).
func (q *Queries) InFlight() int { return len(q.workers) }

// Waiting is the number of queries parked on min_version (metrics, tests).
func (q *Queries) Waiting() int { return len(q.waiting) }

// admit takes a worker slot for one query; done gives it back (if the
// query still holds it: a wait returns it meanwhile).
func (q *Queries) admit(ctx context.Context) (context.Context, func(), error) {
	select {
	case q.workers <- struct{}{}:
	case <-ctx.Done():
		return ctx, nil, ctx.Err()
	}
	slot := &workerSlot{held: true}
	return context.WithValue(ctx, workerSlotKey{}, slot), func() {
		if slot.held {
			<-q.workers
			slot.held = false
		}
	}, nil
}

func (q *Queries) model() (ModelReader, error) {
	m := q.cfg.Models.Active()
	if m == nil {
		return nil, events.Wrap(events.CodeUnavailable, ErrNoGeneration, "%v", ErrNoGeneration)
	}
	return m, nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, events.Errorf(events.CodeInvalidArgument, "limit: must be 1..%d", MaxPageSize)
	}
	return n, nil
}

// Cursors are opaque to clients; inside, "s<seq>" resumes a scan of the
// model after a position, "u<user>" resumes a sorted point-in-time list
// after a user, and "c<seq>.<version>" resumes a change feed.
func seqCursor(prefix string, c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(c, prefix), 10, 64)
	if !strings.HasPrefix(c, prefix) || err != nil {
		return 0, errNotCursor(c)
	}
	return n, nil
}

func errNotCursor(c string) error {
	return events.Errorf(events.CodeInvalidArgument, "cursor: %q is not a cursor of this query", c)
}

// firstErr unwraps errors.Join so the reply carries one typed error.
func firstErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		return j.Unwrap()[0]
	}
	return err
}
