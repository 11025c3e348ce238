// Package app holds the webhook dispatcher's use cases, one file per use
// case: the roster-webhooks requests (endpoint_*.go, redeliver.go), the
// fan-out of a commit into delivery jobs (fanout.go) and the delivery of
// one job, with its retry decision (deliver.go). It owns the interfaces it
// needs (ports.go) and knows nothing of NATS, JetStream or HTTP: adapters
// implement the interfaces, ports call the use cases, and the webhook
// package wires them.
package app

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// Config is what the use cases need.
type Config struct {
	Endpoints EndpointStore
	View      EndpointView
	Events    EventReader
	Queue     JobQueue
	States    JobStates
	Sender    Sender
	Audit     AuditRecorder
	Alerts    Alerter
	Metrics   *Metrics
	Log       zerolog.Logger
	// Clock gives the time and every timer (default the real clock).
	Clock clockwork.Clock
	// Rand returns uniform values in [0,1) for retry jitter.
	Rand func() float64

	// Retry is the policy of endpoints without their own schedule.
	Retry delivery.Policy
	// Health says when an endpoint is paused automatically.
	Health delivery.HealthPolicy
	// HoldDelay is how long a job held behind an earlier one of its group
	// (or of a paused endpoint) waits before it is looked at again; it
	// grows up to MaxHoldDelay while the earlier job waits for its retry.
	HoldDelay    time.Duration
	MaxHoldDelay time.Duration
	// Concurrency is the most HTTP attempts in flight per endpoint.
	Concurrency int
	// RedeliverLimit caps the events one redeliver request enqueues.
	RedeliverLimit int
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
}

// Validate reports every missing dependency.
func (c Config) Validate() error {
	var errs []error
	for _, dep := range []struct {
		name    string
		missing bool
	}{
		{"Endpoints", c.Endpoints == nil}, {"View", c.View == nil}, {"Events", c.Events == nil}, {"Queue", c.Queue == nil},
		{"States", c.States == nil}, {"Sender", c.Sender == nil}, {"Alerts", c.Alerts == nil}, {"Metrics", c.Metrics == nil},
	} {
		if dep.missing {
			errs = append(errs, errors.New("app: "+dep.name+" is required"))
		}
	}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("app: concurrency must be positive"))
	}
	if c.RedeliverLimit < 1 {
		errs = append(errs, errors.New("app: redeliver limit must be positive"))
	}
	return errors.Join(errs...)
}

// App runs the use cases. It is safe for concurrent use.
type App struct {
	cfg Config
	log zerolog.Logger
	// given remembers the deliveries this process handed back unsent
	// (repeat detection); it outlives the endpoints' Deliverers.
	given givenBack
}

// New validates cfg and returns an App.
func New(cfg Config) (*App, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &App{cfg: cfg, log: cfg.Log}, nil
}

func (a *App) now() time.Time { return a.cfg.Clock.Now() }
