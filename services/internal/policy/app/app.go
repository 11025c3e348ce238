// Package app holds roster-policy's use cases, one file per use case: the
// hook administration requests (hook_<verb>.go) and, in the files of the
// calling half (check*.go, breaker*.go), the call of the hooks guarding a
// command. It owns the interfaces it needs (ports.go) and knows nothing of
// NATS or HTTP: adapters implement the interfaces, ports call the use
// cases, and the policy package wires them.
package app

import (
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
)

// Config is what the hook administration use cases need.
type Config struct {
	Hooks HookStore
	// Guard vets a hook's URL at registration as the SSRF guard vets it
	// at call time (the same allowlist).
	Guard URLGuard
	Audit AuditRecorder
	Log   zerolog.Logger
	// Clock gives the time of changes (default the real clock).
	Clock clockwork.Clock
	// AuditTimeout bounds how long a change's reply waits for its audit
	// record to be stored (default 5s; then it is handed to the buffered
	// path, which keeps retrying).
	AuditTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
	if c.AuditTimeout == 0 {
		c.AuditTimeout = 5 * time.Second
	}
}

// Validate reports every missing dependency.
func (c Config) Validate() error {
	var errs []error
	if c.Hooks == nil {
		errs = append(errs, errors.New("app: Hooks is required"))
	}
	if c.Guard == nil {
		errs = append(errs, errors.New("app: Guard is required"))
	}
	if c.AuditTimeout < 0 {
		errs = append(errs, errors.New("app: audit timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// App runs the hook administration use cases. It is safe for concurrent
// use.
type App struct {
	cfg Config
	log zerolog.Logger
}

// New validates cfg and returns an App.
func New(cfg Config) (*App, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &App{cfg: cfg, log: cfg.Log}, nil
}

func (a *App) now() time.Time { return a.cfg.Clock.Now().UTC() }
