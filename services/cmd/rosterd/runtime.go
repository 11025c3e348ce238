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
	// secretKeys is where the dispatcher's webhook secret key comes from.
	secretKeys secretKeyOptions
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
	o.secretKeys.bind(f)
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

	recorderOnce sync.Once
	recorder     audit.Recorder

	// health is what /healthz and /readyz report.
	health *health
}

// component is one actor of a process: it runs until ctx is cancelled and
// returns nil then, or returns an error that stops its service (which the
// supervisor then starts again, or, when the error is permanent, stops the
// process).
type component struct {
	name string
	run  func(ctx context.Context) error
	// ready reports whether the component serves (micro endpoints
	// registered, consumers running); nil: whenever it runs.
	ready func() bool
}

// service is one rosterd subcommand's worth of components.
type service struct {
	name  string
	short string
	// records is true for services that write audit records: only a
	// process running one starts the ROSTER_AUDIT publisher (and needs
	// the permissions for it, deploy/accounts.conf).
	records bool
	build   func(ctx context.Context, e *env) ([]component, error)
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

// runServices runs the named services on one connection, each under a
// supervisor: a service that cannot start for a transient reason (NATS
// unreachable, no JetStream leader yet, ClickHouse down) is retried with
// backoff, one that fails later is restarted; only a permanent error stops
// the process. /readyz answers 200 once every service serves.
func runServices(ctx context.Context, e *env, names []string) error {
	var svcs []service
	for _, n := range names {
		s, ok := lookup(n)
		if !ok {
			return fmt.Errorf("unknown service %q", n)
		}
		svcs = append(svcs, s)
	}
	h := e.healthState()
	h.setConn(e.nc)
	stopHealth, err := h.serve(e.opts.metricsAddr, e.log)
	if err != nil {
		return err
	}
	defer stopHealth()
	// The audit publisher outlives the services: it starts first and
	// stops last, draining what they recorded on their way out.
	records := false
	for _, s := range svcs {
		records = records || s.records
	}
	if r, ok := e.audit().(interface{ Run(context.Context) error }); ok && records {
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sv := newSupervisor(e.log)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range svcs {
		u := h.ready.add(s.name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.run(ctx, e, s, u); err != nil {
				e.log.Error().Err(err).Msg("stopping: " + s.name + " cannot run")
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		}()
	}
	e.log.Info().Strs("services", names).Msg("roster starting")
	wg.Wait()
	return errors.Join(errs...)
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

// connectEnv connects to NATS, retrying with backoff while no server
// answers (a service may start before its NATS server; /healthz answers
// meanwhile and /readyz says 503). A refused authentication or a bad
// option still fails at once.
func connectEnv(ctx context.Context, o *options, name string) (*env, error) {
	log, err := o.logger(name)
	if err != nil {
		return nil, err
	}
	o.service = name
	h := &health{}
	stopHealth, err := h.serve(o.metricsAddr, log)
	if err != nil {
		return nil, err
	}
	nc, err := dialRetry(ctx, log, defaultBackoff, sleepCtx, func() (*nats.Conn, error) {
		return natsx.Connect(o.clientConfig("rosterd-" + name))
	})
	if err != nil {
		stopHealth()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		stopHealth()
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	h.setConn(nc)
	h.keep(stopHealth)
	return &env{log: log, nc: nc, js: js, opts: o, health: h}, nil
}

// dialRetry calls dial until it connects, ctx ends, or it fails for a
// reason other than no server answering.
func dialRetry(ctx context.Context, log zerolog.Logger, b backoff, sleep sleeper, dial func() (*nats.Conn, error)) (*nats.Conn, error) {
	for attempt := 0; ; attempt++ {
		nc, err := dial()
		if err == nil {
			return nc, nil
		}
		if !natsx.Retryable(err) {
			return nil, err
		}
		d := b.delay(attempt)
		log.Warn().Err(err).Dur("retry_in", d).Msg("connecting to NATS")
		if err := sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("connect to NATS: %w", errors.Join(err, ctx.Err()))
		}
	}
}

func newServiceCmd(o *options, s service) *cobra.Command {
	return &cobra.Command{
		Use:   s.name,
		Short: s.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := connectEnv(cmd.Context(), o, s.name)
			if err != nil {
				return err
			}
			defer e.close()
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
			e, err := connectEnv(cmd.Context(), o, "all")
			if err != nil {
				return err
			}
			defer e.close()
			return runServices(cmd.Context(), e, serviceNames())
		},
	}
}

// close ends the process's connection and health server.
func (e *env) close() {
	e.nc.Close()
	if e.health != nil {
		e.health.stop()
	}
}

func (e *env) healthState() *health {
	if e.health == nil {
		e.health = &health{}
	}
	return e.health
}

// audit returns the process's audit recorder. The audit service installs a
// ROSTER_AUDIT publisher through recorderFactory; without it records are
// dropped (and a warning says so once).
func (e *env) audit() audit.Recorder {
	e.recorderOnce.Do(func() {
		if e.recorder != nil {
			return
		}
		if recorderFactory != nil {
			r, err := recorderFactory(e)
			if err == nil {
				e.recorder = r
				return
			}
			e.log.Error().Err(err).Msg("audit publisher unavailable; audit records are dropped")
		}
		e.recorder = audit.Nop{}
	})
	return e.recorder
}

// recorderFactory builds the audit publisher (set by the audit package's
// wiring file).
var recorderFactory func(e *env) (audit.Recorder, error)
