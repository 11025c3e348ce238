package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/httpclient"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Config configures a Dispatcher.
type Config struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Log   zerolog.Logger
	Audit audit.Recorder
	// Clock gives the time and every timer: retry and hold delays, the
	// leases' and the fan-out's heartbeats, secret expiry, health
	// (default the real clock); tests may inject a fake one.
	Clock clockwork.Clock
	// Rand returns uniform values in [0,1) for retry jitter.
	Rand func() float64

	// SecretKeys seals endpoint secrets in ROSTER_WEBHOOK_ENDPOINTS (ADR
	// 0055). Nil stores them in plaintext, with a warning at start; rosterd
	// always sets one.
	SecretKeys *endpoint.Keyring

	// AllowCIDRs is the operator allowlist of otherwise refused ranges.
	AllowCIDRs []string
	// Resolver overrides DNS resolution (tests).
	Resolver httpclient.Resolver
	// TLSConfig overrides the client TLS configuration (tests trust a CA).
	TLSConfig *tls.Config
	// ConnectTimeout bounds every TCP connect (default 5s).
	ConnectTimeout time.Duration
	// MaxResponseBody is the response-body cap (default 64 KiB).
	MaxResponseBody int

	// Retry is the default retry policy of endpoints without their own
	// schedule (default: Svix's schedule, +-20% jitter).
	Retry delivery.Policy
	// Health says when an endpoint is paused automatically (default: 50
	// consecutive failures or 24h of failures).
	Health delivery.HealthPolicy
	// HoldDelay is how long an ordered endpoint's job waits before looking
	// again when an earlier job of its group is still pending (default
	// 250ms; it grows up to MaxHoldDelay while the earlier job waits for
	// its own retry).
	HoldDelay    time.Duration
	MaxHoldDelay time.Duration
	// Concurrency is the most in-flight jobs per endpoint (default 16).
	Concurrency int
	// FanoutBatch is the most commits fanned out together (default 256):
	// their jobs are published asynchronously and the commits acknowledged
	// once every job is stored.
	FanoutBatch int
	// FanoutAckWait is the fan-out consumer's redelivery timer for a commit
	// (default 3s; the batch being fanned out is kept in progress every
	// FanoutAckWait/3). A dispatcher that dies hands the fan-out over after
	// PinnedTTL = FanoutAckWait + pull expiry + 2s (6.5s by default); one
	// that stops cleanly unpins itself at once (ADRs 0010, 0026).
	FanoutAckWait time.Duration
	// AckWait is JetStream's redelivery timer for a job (default 6s). A
	// job this process holds is kept in progress every AckWait/3 for as
	// long as it holds it (queued in a lane, waiting for a slot or the
	// rate limit, in its HTTP attempt, recording), so AckWait only bounds
	// how long the jobs of a dispatcher that died wait for another one
	// (ADR 0026); it need not exceed any endpoint timeout.
	AckWait time.Duration
	// JobStateTTL is how long attempt state is kept after the last change
	// (default 14 days): a job re-enqueued later is delivered again.
	JobStateTTL time.Duration
	// Replicas for the streams and buckets this package creates.
	Replicas int
	// Metrics registers the Prometheus collectors (default: a private
	// registry, so that nothing lands on the global one by accident; rosterd
	// passes the registry it serves).
	Metrics prometheus.Registerer
	// DepthInterval is how often queue depth per endpoint is sampled.
	DepthInterval time.Duration
	// RedeliverLimit caps the events one redeliver request enqueues.
	RedeliverLimit int
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
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.MaxResponseBody == 0 {
		c.MaxResponseBody = httpclient.DefaultMaxBody
	}
	if len(c.Retry.Schedule) == 0 {
		c.Retry.Schedule = delivery.DefaultSchedule
		if c.Retry.Jitter == 0 {
			c.Retry.Jitter = 0.2
		}
	}
	if c.Health == (delivery.HealthPolicy{}) {
		c.Health = delivery.HealthPolicy{MaxConsecutiveFailures: 50, MaxFailingFor: 24 * time.Hour}
	}
	if c.HoldDelay == 0 {
		c.HoldDelay = 250 * time.Millisecond
	}
	if c.MaxHoldDelay == 0 {
		c.MaxHoldDelay = 30 * time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.FanoutBatch == 0 {
		c.FanoutBatch = 256
	}
	if c.FanoutAckWait == 0 {
		c.FanoutAckWait = 3 * time.Second
	}
	if c.AckWait == 0 {
		c.AckWait = 6 * time.Second
	}
	if c.JobStateTTL == 0 {
		c.JobStateTTL = 14 * 24 * time.Hour
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.DepthInterval == 0 {
		c.DepthInterval = 5 * time.Second
	}
	if c.RedeliverLimit == 0 {
		c.RedeliverLimit = 10000
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
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retry: %w", err))
	}
	if c.Health.MaxConsecutiveFailures < 0 || c.Health.MaxFailingFor < 0 {
		errs = append(errs, errors.New("health thresholds must not be negative"))
	}
	if c.HoldDelay < 0 || c.MaxHoldDelay < c.HoldDelay {
		errs = append(errs, errors.New("hold delay must be >= 0 and <= max hold delay"))
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, errors.New("concurrency must be 1..1024"))
	}
	if c.FanoutBatch < 1 || c.FanoutBatch > 4096 {
		errs = append(errs, errors.New("fan-out batch must be 1..4096"))
	}
	if c.FanoutAckWait < time.Second {
		errs = append(errs, errors.New("fan-out ack wait must be at least 1s"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("ack wait must be at least 1s"))
	}
	if c.MaxResponseBody < 0 {
		errs = append(errs, errors.New("max response body must not be negative"))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, errors.New("replicas must be 1..5"))
	}
	if c.RedeliverLimit < 1 {
		errs = append(errs, errors.New("redeliver limit must be positive"))
	}
	return errors.Join(errs...)
}
