package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

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
	// console configures the operator console (console.go).
	console consoleOptions
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
	o.console.bind(f)
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
