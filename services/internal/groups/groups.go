// Package groups is the command side of Roster: the micro service
// roster-groups that receives group commands over NATS request/reply,
// decides them against the group's current state with the pure domain in
// events/group, and appends the resulting commit to ROSTER_EVENTS under an
// optimistic-concurrency check.
//
// This package is only the wiring (docs/adr/0060): Config, and New, which
// provisions the stores and joins the layers:
//
//	ports     the micro service on roster.cmd.*, one parser file per command
//	app       the use case (execute.go), the repository, the audit trail
//	adapters  the JetStream event store and the ROSTER_SNAPSHOTS object store
package groups

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups/adapters"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/groups/ports"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
	policyapp "github.com/rosterhq/roster/services/internal/policy/app"
	"github.com/rosterhq/roster/services/internal/policy/decision"
)

// Public names of the service (a contract: subjects, headers, buckets).
const (
	ServiceName       = ports.ServiceName
	SubjectPrefix     = ports.SubjectPrefix
	CorrelationHeader = ports.CorrelationHeader
	DuplicateHeader   = ports.DuplicateHeader
	RequestInfoHeader = ports.RequestInfoHeader
	SnapshotBucket    = adapters.SnapshotBucket
	// MaxCorrelationIDLen bounds the Roster-Correlation-Id header.
	MaxCorrelationIDLen = ports.MaxCorrelationIDLen
	// DefaultMaxHeaderBytes bounds the total size of a request's headers
	// (names and values): Roster reads two headers, a client has no reason
	// to send kilobytes of them.
	DefaultMaxHeaderBytes = edge.DefaultMaxHeaderBytes
)

// Types callers of the service use, defined by the layer they belong to.
type (
	// EventStore is the app's event-store port.
	EventStore = app.EventStore
	// Result is the outcome of one command; Reply its success body.
	Result = app.Result
	Reply  = app.Reply
	// ErrorReply is a failure reply's body; ErrorBody its code and message.
	ErrorReply = edge.ErrorBody
	ErrorBody  = edge.ErrorDetail
	// Callers binds actors to the callers NATS attests (docs/adr/0053).
	Callers    = ports.Callers
	CallerRule = ports.CallerRule
)

// ParseCallers reads a caller policy (ports.ParseCallers).
func ParseCallers(spec string, trustUnattested bool) (*Callers, error) {
	return ports.ParseCallers(spec, trustUnattested)
}

// ValidateCorrelationID checks a Roster-Correlation-Id value.
func ValidateCorrelationID(id string) error { return ports.ValidateCorrelationID(id) }

// CommandNames lists every command name ("group.create", ...), sorted.
func CommandNames() []string { return ports.CommandNames() }

// Config configures the command service.
type Config struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Log   zerolog.Logger
	Audit audit.Recorder
	// Clock gives the time of events and receptions and the timers of the
	// conflict pause (default the real clock); tests inject a fake one.
	Clock clockwork.Clock
	// Metrics receives the roster_command* and roster_group_* series; nil
	// registers them on a private registry.
	Metrics prometheus.Registerer
	// Stream configures ROSTER_EVENTS when it has to be created.
	Stream eventstore.StreamConfig
	// Reads tunes how groups are read from ROSTER_EVENTS (batch size) and
	// the pipelined appends (AppendTimeout, default RequestTimeout).
	Reads eventstore.Config
	// SnapshotEvery is how many events a group may grow past its last
	// snapshot in ROSTER_SNAPSHOTS before the next is written.
	SnapshotEvery uint64
	// CacheGroups bounds how many groups stay hot in memory.
	CacheGroups int
	// MaxConflictRetries bounds reload-and-redecide rounds on OCC conflicts.
	MaxConflictRetries int
	// CommandIndex bounds the per-group idempotency index to the most
	// recent N accepted commands that carried a caller's command_id
	// (default 10,000: far beyond any retry policy, and small in snapshots).
	CommandIndex int
	// MaxRequestBytes rejects larger requests as invalid_argument.
	MaxRequestBytes int
	// MaxHeaderBytes rejects requests whose headers are larger in total
	// (default DefaultMaxHeaderBytes) as invalid_argument.
	MaxHeaderBytes int
	// MaxInFlight bounds concurrently handled requests per process.
	MaxInFlight int
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// AuditTimeout bounds how long a reply that is not an acceptance
	// (rejected, duplicate, uncertain) waits for its audit record to be
	// stored in ROSTER_AUDIT (default 2s). It starts when the outcome is
	// known, not with the request: an uncertain outcome is most often the
	// request's own deadline passing during an append.
	AuditTimeout time.Duration
	// QueueGroup lets several processes share the load (default the
	// service name).
	QueueGroup string
	Version    string
	// Callers binds actors to the callers NATS attests (docs/adr/0053);
	// nil trusts every caller (the dev stack and in-process callers).
	Callers *Callers
	// Policy runs the synchronous policy hooks before a guarded command is
	// decided (docs/policy.md); nil: no hooks. A hook's timeout counts
	// against RequestTimeout.
	Policy *policyapp.Checker
}

func (c *Config) setDefaults() {
	if c.Audit == nil {
		c.Audit = audit.Nop{}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
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
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 256 << 10
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 512
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.AuditTimeout == 0 {
		c.AuditTimeout = 2 * time.Second
	}
	if c.QueueGroup == "" {
		c.QueueGroup = ServiceName
	}
	if c.Version == "" {
		c.Version = "0.1.0"
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.NC == nil {
		errs = append(errs, errors.New("NC (NATS connection) is required"))
	}
	if c.JS == nil {
		errs = append(errs, errors.New("JS (JetStream) is required"))
	}
	if c.CacheGroups < 1 {
		errs = append(errs, errors.New("CacheGroups must be positive"))
	}
	if c.MaxConflictRetries < 1 {
		errs = append(errs, errors.New("MaxConflictRetries must be positive"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("MaxInFlight must be positive"))
	}
	if c.MaxRequestBytes < 0 || c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("MaxRequestBytes and MaxHeaderBytes must not be negative"))
	}
	if c.RequestTimeout <= 0 || c.AuditTimeout <= 0 {
		errs = append(errs, errors.New("RequestTimeout and AuditTimeout must be positive"))
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Reads.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Service decides and appends group commands.
type Service struct {
	app  *app.App
	port *ports.Service
}

// New provisions ROSTER_EVENTS and ROSTER_SNAPSHOTS and returns a service
// ready to Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("groups config: %w", err)
	}
	metrics, err := app.NewMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	stream, err := eventstore.Provision(ctx, cfg.JS, cfg.Stream)
	if err != nil {
		return nil, err
	}
	snaps, err := adapters.ProvisionSnapshots(ctx, cfg.JS, cfg.Stream)
	if err != nil {
		return nil, err
	}
	reads := cfg.Reads
	if reads.Metrics == nil {
		reads.Metrics = cfg.Metrics // the store's read counters go with the service's
	}
	if reads.AppendTimeout == 0 {
		// A pipelined append waits for its ack as long as a request may.
		reads.AppendTimeout = cfg.RequestTimeout
	}
	store, err := eventstore.Open(cfg.JS, stream, reads)
	if err != nil {
		return nil, err
	}
	var callers app.CallerPolicy
	if cfg.Callers != nil {
		callers = cfg.Callers
	}
	var policy app.Policy
	if cfg.Policy != nil {
		policy = policyPort{cfg.Policy}
	}
	a, err := app.New(app.Config{
		Events: adapters.EventStore{Store: store}, Snapshots: snaps, Audit: cfg.Audit, Callers: callers, Policy: policy,
		Clock: cfg.Clock, Log: cfg.Log, Metrics: metrics,
		SnapshotEvery: cfg.SnapshotEvery, CacheGroups: cfg.CacheGroups, MaxConflictRetries: cfg.MaxConflictRetries,
		CommandIndex: cfg.CommandIndex, AuditTimeout: cfg.AuditTimeout, MaxCommitBytes: cfg.NC.MaxPayload,
	})
	if err != nil {
		return nil, fmt.Errorf("groups app: %w", err)
	}
	port, err := ports.New(ports.Config{
		NC: cfg.NC, Log: cfg.Log, App: a,
		MaxInFlight: cfg.MaxInFlight, MaxRequestBytes: cfg.MaxRequestBytes, MaxHeaderBytes: cfg.MaxHeaderBytes,
		RequestTimeout: cfg.RequestTimeout, QueueGroup: cfg.QueueGroup, Version: cfg.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("groups port: %w", err)
	}
	return &Service{app: a, port: port}, nil
}

// Run serves roster-groups until ctx ends, then drains in-flight requests
// and background snapshot writes.
func (s *Service) Run(ctx context.Context) error {
	err := s.port.Run(ctx)
	s.app.Wait()
	return err
}

// Ready reports whether Run serves roster-groups (every endpoint
// registered, not yet stopping).
func (s *Service) Ready() bool { return s.port.Ready() }

// Execute decides and appends one command given as its request body. It is
// what the NATS endpoint calls after the edge's checks; tests and
// benchmarks may call it directly.
func (s *Service) Execute(ctx context.Context, name string, data []byte, correlationID string) Result {
	return s.port.Execute(ctx, name, data, correlationID)
}

// policyPort adapts the policy hooks' Checker to the use case's port.
type policyPort struct{ c *policyapp.Checker }

func (p policyPort) Guards(command string) bool { return p.c.Guards(command) }

func (p policyPort) Check(ctx context.Context, in app.PolicyInput) (app.PolicyVerdict, error) {
	r, err := p.c.Check(ctx, policyapp.CheckInput{AuditID: in.AuditID, Input: decision.Input{
		GroupID: in.GroupID, Actor: in.Actor, CommandID: in.CommandID, Command: in.Command, Group: in.State,
		MemberCount: in.Members, PendingCount: in.Pending,
	}})
	if err != nil {
		return app.PolicyVerdict{}, err
	}
	return app.PolicyVerdict{Command: r.Command, Holds: r.Holds}, nil
}
