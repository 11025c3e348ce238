// Package demo is "rosterd dev --demo": the OpenIM seed scenario (issue
// #3230 upstream) played against a running Roster stack and a built-in
// receiver that misbehaves like the callbacks OpenIM users run, then told
// from the audit trail in ClickHouse (docs/audit.md, "The demo").
//
// The scenario is a client of the stack: it speaks only the public NATS
// subjects (roster.cmd.*, roster.webhook.endpoint.*) and reads the audit
// tables with audit.Reader. rosterd runs it as one actor of the dev
// process, next to the services (services/cmd/rosterd/demo.go).
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

const (
	// PauseAfter is the dispatcher's pause threshold on the demo stack
	// (production: 50 consecutive failures or 24h): the stack must run
	// with HealthPolicy for the scenario to reach its pause.
	PauseAfter = 3
	actor      = "ops"
)

// HealthPolicy is the dispatcher's health policy the scenario needs.
var HealthPolicy = delivery.HealthPolicy{MaxConsecutiveFailures: PauseAfter}

// retrySchedule is the demo endpoint's own retry schedule: ten attempts
// 300ms apart instead of Svix's 27 hours.
var retrySchedule = []string{"0s", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms"}

// ErrStep is wrapped by the error of a step that did not happen in time.
var ErrStep = errors.New("demo step did not happen in time")

// Config configures one run of the demo.
type Config struct {
	// ClickHouseDSN is the audit trail's database, read back at the end.
	ClickHouseDSN string
	// Out receives the story (default os.Stdout).
	Out io.Writer
	// Step bounds every wait of the scenario (default 60s); a step that
	// does not happen ends the demo with ErrStep.
	Step time.Duration
	// MigrateTimeout bounds the ClickHouse check at New (default 30s).
	MigrateTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Step == 0 {
		c.Step = 60 * time.Second
	}
	if c.MigrateTimeout == 0 {
		c.MigrateTimeout = 30 * time.Second
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.ClickHouseDSN == "" {
		errs = append(errs, errors.New("ClickHouseDSN is required"))
	}
	if c.Step < 0 || c.MigrateTimeout < 0 {
		errs = append(errs, errors.New("Step and MigrateTimeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Scenario is one run of the demo: its receiver and its ClickHouse
// connection, ready to play.
type Scenario struct {
	cfg    Config
	conn   driver.Conn
	reader audit.Reader
	rv     *Receiver

	groupID, endpointID string
}

// New checks ClickHouse (without it there is no trail to show, and the
// error must say so before anything else starts), applies the audit DDL
// and starts the receiver. Close releases both.
func New(ctx context.Context, cfg Config) (*Scenario, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	ch := audit.ClickHouseConfig{DSN: cfg.ClickHouseDSN}
	mctx, cancel := context.WithTimeout(ctx, cfg.MigrateTimeout)
	_, err := audit.Migrate(mctx, ch)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("demo: ClickHouse at %s is needed for the audit trail (scripts/dev starts one; or set --clickhouse-dsn / ROSTER_CLICKHOUSE_DSN): %w", safeDSN(ch.DSN), err)
	}
	conn, db, err := audit.OpenClickHouse(ch)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	rv, err := StartReceiver()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("demo: receiver: %w", err)
	}
	run := runID()
	return &Scenario{
		cfg: cfg, conn: conn, reader: audit.Reader{Conn: conn, DB: db}, rv: rv,
		groupID: "A-" + run, endpointID: "demo-openim-" + run,
	}, nil
}

// Close stops the receiver and closes the ClickHouse connection.
func (s *Scenario) Close() {
	s.rv.Close()
	_ = s.conn.Close()
}

func (s *Scenario) printf(format string, args ...any) { fmt.Fprintf(s.cfg.Out, format, args...) }

// wait polls cond until it holds, ctx ends or the step bound passes. When
// the stack stops, ctx's cause (the stack's error) is the demo's.
func (s *Scenario) wait(ctx context.Context, what string, cond func() error) error {
	deadline := time.Now().Add(s.cfg.Step)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s: %w within %s: %v", what, ErrStep, s.cfg.Step, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// runID makes the demo's group and endpoint ids unique, so the demo can
// run again on the same data directory and ClickHouse database.
func runID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// safeDSN drops the user info (a password) from a DSN for an error message.
func safeDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "(the configured DSN)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
