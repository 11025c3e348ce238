// Package policy is Roster's synchronous policy hooks (OpenIM's
// before-callbacks, done right; docs/policy.md). This file wires the
// administration half, the roster-policy micro service, and exports the
// hook source the calling half (roster-groups) reads.
//
// Where things are (docs/adr/0087):
//
//	hook/                domain: what a hook is, which commands it guards
//	hookrec/             a hook as stored: sealed secrets, store errors
//	app/                 one file per use case: hook_<verb>.go (this
//	                     half), check*.go and breaker*.go (the calling
//	                     half); ports.go: the interfaces the use cases own
//	adapters/hookkv      the NATS KV store ROSTER_POLICY_HOOKS and View,
//	                     the watch-fed hook source
//	adapters/hookmem     the in-memory store (use-case tests)
//	adapters/urlguard    the SSRF guard at registration
//	ports/               roster-policy on natsx/edge
//	hooktest/            the hook store contract (Run)
package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/policy/adapters/hookkv"
	"github.com/rosterhq/roster/services/internal/policy/adapters/urlguard"
	"github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/policy/ports"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Public names (contract).
const (
	ServiceName   = ports.ServiceName
	SubjectPrefix = ports.SubjectPrefix
	Bucket        = hookrec.Bucket
)

// Verbs lists the hook verbs (roster.policy.hook.<verb>).
var Verbs = ports.Verbs

// The requests and replies of roster-policy.
type (
	CreateRequest = app.CreateRequest
	UpdateRequest = app.UpdateRequest
	IDRequest     = app.IDRequest
	ListRequest   = app.ListRequest
	HookReply     = app.HookReply
	ListReply     = app.ListReply
	Hook          = app.Hook
	Duration      = app.Duration
)

// HookSource is what the caller of hooks reads: the hooks guarding a
// command, in call order, secrets opened. *View is the real one.
type HookSource interface {
	ForCommand(command string) []hook.Hook
}

// View is the watch-fed hook source (hookkv.View): Run it, and read
// ForCommand once Ready.
type View = hookkv.View

// ViewConfig configures a View (hookkv.ViewConfig).
type ViewConfig = hookkv.ViewConfig

// NewView returns a View of ROSTER_POLICY_HOOKS; it only reads the bucket
// (and waits for it to exist), so roster-groups runs it with read access.
func NewView(cfg ViewConfig) *View { return hookkv.NewView(cfg) }

// Config configures the roster-policy service.
type Config struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Log   zerolog.Logger
	Audit audit.Recorder
	// Clock gives the time of changes (default the real clock).
	Clock clockwork.Clock
	// SecretKeys seals hook secrets in ROSTER_POLICY_HOOKS: the webhook
	// secret keyring (ADR 0055), so one key protects every Roster secret
	// at rest and roster-groups opens them with the same key. Nil stores
	// them in plaintext, with a warning at start; rosterd always sets one.
	SecretKeys *endpoint.Keyring
	// AllowCIDRs is the operator allowlist of otherwise refused ranges,
	// the webhook dispatcher's (--webhook-allow-cidr).
	AllowCIDRs []string
	// Resolver overrides DNS resolution at registration (tests).
	Resolver httpclient.Resolver
	// Replicas of the bucket (default 1; 3 in a cluster).
	Replicas int
	// Version is reported by the micro service.
	Version string
}

func (c *Config) setDefaults() {
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Version == "" {
		c.Version = "0.1.0"
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.NC == nil {
		errs = append(errs, errors.New("NC is required"))
	}
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	for _, a := range c.AllowCIDRs {
		if _, err := netip.ParsePrefix(a); err != nil {
			errs = append(errs, fmt.Errorf("allow cidr %q: %w", a, err))
		}
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, errors.New("replicas must be 1..5"))
	}
	return errors.Join(errs...)
}

// Service is roster-policy: hook administration on roster.policy.hook.*.
type Service struct {
	cfg     Config
	log     zerolog.Logger
	app     *app.App
	serving atomic.Bool
}

// New provisions ROSTER_POLICY_HOOKS and returns a Service ready to Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	log := cfg.Log.With().Str("component", "policy").Logger()
	store, err := hookkv.Provision(ctx, cfg.JS, cfg.Replicas, cfg.SecretKeys)
	if err != nil {
		return nil, err
	}
	guard, err := urlguard.New(urlguard.Config{Allow: cfg.AllowCIDRs, Resolver: cfg.Resolver})
	if err != nil {
		return nil, err
	}
	a, err := app.New(app.Config{Hooks: store, Guard: guard, Audit: cfg.Audit, Log: log, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, log: log, app: a}, nil
}

// Ready reports whether roster-policy's endpoints are registered.
func (s *Service) Ready() bool { return s.serving.Load() }

// Run serves until ctx ends; nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.SecretKeys == nil {
		s.log.Warn().Str("bucket", Bucket).Msg("no webhook secret key configured: policy hook secrets are stored in plaintext")
	} else {
		s.log.Info().Str("key_id", s.cfg.SecretKeys.CurrentKeyID()).Msg("policy hook secrets sealed at rest")
	}
	return ports.Serve(ctx, ports.Config{NC: s.cfg.NC, App: s.app, Log: s.log, Version: s.cfg.Version, Serving: s.serving.Store})
}
