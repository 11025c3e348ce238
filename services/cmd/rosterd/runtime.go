package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// options are the flags every rosterd subcommand shares. Each has an
// environment variable (ROSTER_...) so deployments need no flags.
type options struct {
	natsURL       string
	natsCreds     string
	natsNKey      string
	natsTLSCA     string
	natsTLSCert   string
	natsTLSKey    string
	logFormat     string
	logLevel      string
	clickhouseDSN string
	metricsAddr   string
	replicas      int
	// webhookAllow lists CIDRs the webhook dispatcher may deliver to even
	// though they are private or loopback (the dev stack adds loopback).
	webhookAllow []string
	// webhookHealth is when the dispatcher pauses an endpoint by itself
	// (zero: its default). Not a flag: "dev --demo" lowers it.
	webhookHealth delivery.HealthPolicy

	// natsUser authenticates with a password read from natsPasswordFile
	// or $ROSTER_NATS_PASSWORD (never from a flag: argv is public).
	natsUser         string
	natsPasswordFile string
	// natsInboxPrefix overrides the per-service inbox prefix
	// (_INBOX_<service>) that deploy/accounts.conf grants each service.
	natsInboxPrefix string
	// service is the name the process connected as (connectEnv).
	service string
	// callers and trustUnattested are roster-groups' caller policy
	// (groups.ParseCallers; docs/adr/0053). "rosterd dev" trusts everyone.
	callers         string
	trustUnattested bool
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func (o *options) bind(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.natsURL, "nats-url", envOr("ROSTER_NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL(s) ($ROSTER_NATS_URL)")
	f.StringVar(&o.natsCreds, "nats-creds", envOr("ROSTER_NATS_CREDS", ""), "NATS credentials file ($ROSTER_NATS_CREDS)")
	f.StringVar(&o.natsNKey, "nats-nkey", envOr("ROSTER_NATS_NKEY", ""), "NATS nkey seed file ($ROSTER_NATS_NKEY)")
	f.StringVar(&o.natsUser, "nats-user", envOr("ROSTER_NATS_USER", ""), "NATS user; the password comes from --nats-password-file or $ROSTER_NATS_PASSWORD")
	f.StringVar(&o.natsPasswordFile, "nats-password-file", envOr("ROSTER_NATS_PASSWORD_FILE", ""), "file holding the NATS user's password ($ROSTER_NATS_PASSWORD_FILE)")
	f.StringVar(&o.natsInboxPrefix, "nats-inbox-prefix", envOr("ROSTER_NATS_INBOX_PREFIX", ""), "reply-subject prefix (default _INBOX_<service>, as deploy/accounts.conf grants)")
	f.StringVar(&o.natsTLSCA, "nats-tls-ca", envOr("ROSTER_NATS_TLS_CA", ""), "CA certificate to trust for NATS TLS")
	f.StringVar(&o.natsTLSCert, "nats-tls-cert", envOr("ROSTER_NATS_TLS_CERT", ""), "client certificate for NATS TLS")
	f.StringVar(&o.natsTLSKey, "nats-tls-key", envOr("ROSTER_NATS_TLS_KEY", ""), "client key for NATS TLS")
	f.StringVar(&o.logFormat, "log-format", envOr("ROSTER_LOG_FORMAT", "json"), "log format: json or console")
	f.StringVar(&o.logLevel, "log-level", envOr("ROSTER_LOG_LEVEL", "info"), "log level")
	f.StringVar(&o.clickhouseDSN, "clickhouse-dsn", envOr("ROSTER_CLICKHOUSE_DSN", "clickhouse://127.0.0.1:9000/roster"), "ClickHouse DSN for the audit sink ($ROSTER_CLICKHOUSE_DSN)")
	f.StringVar(&o.metricsAddr, "metrics-addr", envOr("ROSTER_METRICS_ADDR", ""), "serve Prometheus /metrics and /healthz on this address (empty: off)")
	f.IntVar(&o.replicas, "replicas", 1, "replicas for Roster's streams and buckets (3 in a cluster)")
	f.StringVar(&o.callers, "callers", envOr("ROSTER_CALLERS", ""), "who may name which actor: ACCOUNT=trusted|bound|bound:tag:PREFIX,... ($ROSTER_CALLERS); unlisted accounts are refused")
	f.BoolVar(&o.trustUnattested, "trust-unattested", envOr("ROSTER_TRUST_UNATTESTED", "") == "true", "trust commands that carry no Nats-Request-Info (no accounts, or same-account callers) ($ROSTER_TRUST_UNATTESTED=true)")
	f.StringSliceVar(&o.webhookAllow, "webhook-allow-cidr", nil, "CIDRs webhooks may target although private/loopback (operator allowlist)")
}

func (o *options) logger(service string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level: %w", err)
	}
	var l zerolog.Logger
	switch o.logFormat {
	case "json":
		l = zerolog.New(os.Stderr)
	case "console":
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: want json or console", o.logFormat)
	}
	return l.Level(lvl).With().Timestamp().Str("service", service).Logger(), nil
}

func (o *options) clientConfig(name string) natsx.ClientConfig {
	c := natsx.ClientConfig{
		URL: o.natsURL, Name: name, Creds: o.natsCreds, NKey: o.natsNKey,
		User: o.natsUser, PasswordFile: o.natsPasswordFile, InboxPrefix: o.natsInboxPrefix,
		TLSCA: o.natsTLSCA, TLSCert: o.natsTLSCert, TLSKey: o.natsTLSKey,
	}
	if c.User != "" && c.PasswordFile == "" {
		c.Password = os.Getenv("ROSTER_NATS_PASSWORD")
	}
	if c.InboxPrefix == "" && o.service != "" {
		c.InboxPrefix = inboxPrefix(o.service)
	}
	return c
}

// inboxPrefix is the reply-subject prefix of the rosterd service name
// ("groups" -> "_INBOX_groups"): each service's user in
// deploy/accounts.conf may subscribe only to its own (docs/adr/0052).
func inboxPrefix(service string) string { return "_INBOX_" + service }

// env is what every service gets from the process: its logger and a
// connection to NATS. Services register their own metrics.
type env struct {
	log  zerolog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	opts *options
	// dev is true under "rosterd dev": loopback webhooks are allowed and
	// console-friendly defaults apply.
	dev bool

	recorder audit.Recorder
}

// component is one actor of a process: it runs until ctx is cancelled and
// returns nil then, or returns an error that stops the whole process.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// service is one rosterd subcommand's worth of components.
type service struct {
	name  string
	short string
	build func(ctx context.Context, e *env) ([]component, error)
}

// services lists the services in start order; "all" and "dev" run them all.
var services []service

func register(s service) { services = append(services, s) }

// runComponents runs every component until ctx ends or one fails; then it
// cancels the rest and waits for them.
func runComponents(ctx context.Context, log zerolog.Logger, comps []component) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Debug().Str("component", c.name).Msg("starting")
			err := c.run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Str("component", c.name).Msg("component failed")
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
				mu.Unlock()
			}
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runServices builds and runs the named services on one connection.
func runServices(ctx context.Context, e *env, names []string) error {
	var comps []component
	for _, n := range names {
		s, ok := lookup(n)
		if !ok {
			return fmt.Errorf("unknown service %q", n)
		}
		cs, err := s.build(ctx, e)
		if err != nil {
			return fmt.Errorf("start %s: %w", n, err)
		}
		comps = append(comps, cs...)
	}
	if m := metricsComponent(e); m != nil {
		comps = append(comps, *m)
	}
	e.log.Info().Strs("services", names).Msg("roster running")
	// The audit publisher outlives the other components: it starts first
	// and stops last, draining what they recorded on their way out.
	if r, ok := e.recorder.(interface{ Run(context.Context) error }); ok {
		pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := r.Run(pubCtx); err != nil {
				e.log.Error().Err(err).Msg("audit publisher stopped")
			}
		}()
		defer func() { stopPub(); <-done }()
	}
	return runComponents(ctx, e.log, comps)
}

func lookup(name string) (service, bool) {
	for _, s := range services {
		if s.name == name {
			return s, true
		}
	}
	return service{}, false
}

func serviceNames() []string {
	var ns []string
	for _, s := range services {
		ns = append(ns, s.name)
	}
	return ns
}

func connectEnv(o *options, name string) (*env, error) {
	log, err := o.logger(name)
	if err != nil {
		return nil, err
	}
	o.service = name
	nc, err := natsx.Connect(o.clientConfig("rosterd-" + name))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &env{log: log, nc: nc, js: js, opts: o}, nil
}

func newServiceCmd(o *options, s service) *cobra.Command {
	return &cobra.Command{
		Use:   s.name,
		Short: s.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := connectEnv(o, s.name)
			if err != nil {
				return err
			}
			defer e.nc.Close()
			return runServices(cmd.Context(), e, []string{s.name})
		},
	}
}

func newAllCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "all",
		Short: "Run every service in one process against an existing NATS (" + strings.Join(serviceNames(), ", ") + ")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := connectEnv(o, "all")
			if err != nil {
				return err
			}
			defer e.nc.Close()
			return runServices(cmd.Context(), e, serviceNames())
		},
	}
}

// audit returns the process's audit recorder. The audit service installs a
// ROSTER_AUDIT publisher through recorderFactory; without it records are
// dropped (and a warning says so once).
func (e *env) audit() audit.Recorder {
	if e.recorder != nil {
		return e.recorder
	}
	if recorderFactory != nil {
		r, err := recorderFactory(e)
		if err == nil {
			e.recorder = r
			return r
		}
		e.log.Error().Err(err).Msg("audit publisher unavailable; audit records are dropped")
	}
	e.recorder = audit.Nop{}
	return e.recorder
}

// recorderFactory builds the audit publisher (set by the audit package's
// wiring file).
var recorderFactory func(e *env) (audit.Recorder, error)
