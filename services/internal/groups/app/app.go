package app

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
)

// Config configures the application layer. The wiring (package groups)
// fills it from groups.Config; the zero values of the tunables take the
// same defaults as there.
type Config struct {
	Events EventStore
	// Snapshots stores group snapshots; nil turns them off.
	Snapshots SnapshotStore
	// Audit stores the outcomes that are not acceptances (default audit.Nop).
	Audit AuditRecorder
	// Callers admits actors (nil: everyone).
	Callers CallerPolicy
	// Policy runs the synchronous policy hooks (nil: no hooks).
	Policy Policy
	// Clock gives the time of events and receptions, and the timers of the
	// conflict pause (default the real clock).
	Clock clockwork.Clock
	Log   zerolog.Logger
	// Metrics receives the command series (default: on a private registry).
	Metrics *Metrics
	// SnapshotEvery is how many events a group may grow past its last
	// snapshot before the next is written (default 1000).
	SnapshotEvery uint64
	// CacheGroups bounds how many groups stay hot in memory (default 100,000).
	CacheGroups int
	// MaxConflictRetries bounds reload-and-redecide rounds on OCC
	// conflicts (default 16).
	MaxConflictRetries int
	// CommandIndex bounds the per-group idempotency index (default 10,000).
	CommandIndex int
	// AuditTimeout bounds how long a reply that is not an acceptance waits
	// for its audit record (default 2s).
	AuditTimeout time.Duration
	// MaxCommitBytes is the largest commit the store takes in one message,
	// read per command (the NATS server's max_payload can change on
	// reconnect); nil: not checked before the append.
	MaxCommitBytes func() int64
}

func (c *Config) setDefaults() error {
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return err
		}
		c.Metrics = m
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 1000
	}
	if c.CacheGroups == 0 {
		c.CacheGroups = 100_000
	}
	if c.MaxConflictRetries == 0 {
		c.MaxConflictRetries = 16
	}
	if c.CommandIndex == 0 {
		c.CommandIndex = 10_000
	}
	if c.AuditTimeout == 0 {
		c.AuditTimeout = 2 * time.Second
	}
	return nil
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.Events == nil {
		errs = append(errs, errors.New("Events (event store) is required"))
	}
	if c.CacheGroups < 1 {
		errs = append(errs, errors.New("CacheGroups must be positive"))
	}
	if c.MaxConflictRetries < 1 {
		errs = append(errs, errors.New("MaxConflictRetries must be positive"))
	}
	if c.AuditTimeout <= 0 {
		errs = append(errs, errors.New("AuditTimeout must be positive"))
	}
	return errors.Join(errs...)
}

// App runs the command use case.
type App struct {
	repo         *Repository
	audit        AuditRecorder
	callers      CallerPolicy
	policy       Policy
	clock        clockwork.Clock
	log          zerolog.Logger
	metrics      *Metrics
	auditTimeout time.Duration
	maxCommit    func() int64
}

// New validates cfg and returns an App.
func New(cfg Config) (*App, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &App{
		repo: &Repository{
			events: cfg.Events, async: asyncOf(cfg.Events), snaps: cfg.Snapshots, log: cfg.Log, clock: cfg.Clock, metrics: cfg.Metrics,
			maxCommands: cfg.CommandIndex, snapEvery: cfg.SnapshotEvery, maxRetries: cfg.MaxConflictRetries,
			cache: newCache(cfg.CacheGroups),
		},
		audit: cfg.Audit, callers: cfg.Callers, policy: cfg.Policy, clock: cfg.Clock, log: cfg.Log, metrics: cfg.Metrics,
		auditTimeout: cfg.AuditTimeout, maxCommit: cfg.MaxCommitBytes,
	}, nil
}

// Wait blocks until the background work started so far (snapshot writes)
// has ended. Call it once no command runs any more.
func (a *App) Wait() { a.repo.Wait() }

// asyncOf is events' pipelined append, nil when it has none.
func asyncOf(events EventStore) AsyncAppender {
	a, _ := events.(AsyncAppender)
	return a
}
