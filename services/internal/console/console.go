// Package console is the operator console (rosterd console, issue 13): a
// web UI over Roster's own sources of truth, the services' NATS requests,
// ROSTER_EVENTS and the audit tables in ClickHouse (docs/console.md,
// docs/adr/0094 to 0096). This file is its one wiring file: Config,
// setDefaults, Validate, New and Run; app holds the use cases, adapters
// the sources, ports/web the HTTP side.
package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/console/adapters"
	"github.com/rosterhq/roster/services/internal/console/app"
	"github.com/rosterhq/roster/services/internal/console/ports/web"
)

// DefaultListen is where the console listens unless told otherwise.
const DefaultListen = "127.0.0.1:8080"

// Services are the micro services the overview pings.
var Services = []string{"roster-groups", "roster-query", "roster-webhooks", "roster-policy"}

// Config configures a console.
type Config struct {
	NC  *nats.Conn
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Listen is the HTTP address (default DefaultListen).
	Listen string
	// ClickHouse is the audit trail the console reads.
	ClickHouse audit.ClickHouseConfig
	// NoLogin serves without login (rosterd dev): only on a loopback
	// address, and every page says so.
	NoLogin bool
	// UsersFile holds the operators ("name:bcrypt-hash" lines); required
	// unless NoLogin.
	UsersFile string
	// SessionKey signs the session cookies (at least 32 bytes; every
	// console behind one balancer needs the same); required unless NoLogin.
	SessionKey []byte
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// InsecureCookie drops the session cookie's Secure attribute, for a
	// console reached over plain HTTP on an address that is not loopback
	// (on loopback it is dropped anyway: browsers treat it as secure).
	InsecureCookie bool
	// Clock is the console's clock (default the real one).
	Clock clockwork.Clock
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	c.ClickHouse.SetDefaults()
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.NC == nil || c.JS == nil {
		errs = append(errs, errors.New("console: NC and JS are required"))
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("console: listen %q: %w", c.Listen, err))
	}
	if c.NoLogin && err == nil && !loopback(host) {
		errs = append(errs, fmt.Errorf("console: a console without login listens on loopback only, not %q", c.Listen))
	}
	if !c.NoLogin {
		if c.UsersFile == "" {
			errs = append(errs, errors.New("console: a users file is required (--console-users; create it with roster console add-user)"))
		}
		if len(c.SessionKey) < web.MinKeyLen {
			errs = append(errs, fmt.Errorf("console: a session key of at least %d bytes is required (--console-session-key-file)", web.MinKeyLen))
		}
	}
	if c.SessionTTL < 0 {
		errs = append(errs, errors.New("console: SessionTTL must not be negative"))
	}
	return errors.Join(errs...)
}

// loopback reports whether host names only this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Console is a running console: its listener and handler.
type Console struct {
	cfg     Config
	ln      net.Listener
	srv     *http.Server
	closeCH func() error
	serving atomic.Bool
}

// New checks cfg, reads the users file, opens the audit trail (lazily:
// ClickHouse being down shows on the pages, it does not stop the console)
// and takes the listen address, so a taken port fails here.
func New(cfg Config) (*Console, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wc := web.Config{Log: cfg.Log, NoLogin: cfg.NoLogin, Clock: cfg.Clock}
	host, _, _ := net.SplitHostPort(cfg.Listen)
	wc.SecureCookie = !cfg.InsecureCookie && !loopback(host)
	if !cfg.NoLogin {
		users, err := web.LoadUsers(cfg.UsersFile)
		if err != nil {
			return nil, err
		}
		if users.Len() == 0 {
			return nil, fmt.Errorf("console users %s: no users (add one with roster console add-user)", cfg.UsersFile)
		}
		if wc.Sessions, err = web.NewSessions(cfg.SessionKey, cfg.SessionTTL); err != nil {
			return nil, err
		}
		wc.Users = users
	}
	queries, closeCH, err := audit.OpenQueries(cfg.ClickHouse)
	if err != nil {
		return nil, fmt.Errorf("console: audit trail: %w", err)
	}
	req := adapters.Requester{NC: cfg.NC}
	wc.App = &app.App{
		Webhooks:   adapters.Webhooks{Requester: req},
		Membership: adapters.Membership{Requester: req},
		Status:     adapters.Status{NC: cfg.NC, JS: cfg.JS},
		Trail:      queries,
		Events:     adapters.EventLog{JS: cfg.JS},
		Policy:     adapters.Policy{Requester: req},
		Clock:      cfg.Clock,
		Services:   Services,
	}
	h, err := web.New(wc)
	if err != nil {
		_ = closeCH()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = closeCH()
		return nil, fmt.Errorf("console: listen on %s: %w", cfg.Listen, err)
	}
	return &Console{
		cfg: cfg, ln: ln, closeCH: closeCH,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
	}, nil
}

// URL is where the console answers.
func (c *Console) URL() string { return "http://" + c.ln.Addr().String() }

// Ready reports whether the console serves.
func (c *Console) Ready() bool { return c.serving.Load() }

// Run serves until ctx ends, then lets requests in flight finish (up to
// 5 s) and releases the listener and the ClickHouse connection.
func (c *Console) Run(ctx context.Context) error {
	defer func() { _ = c.closeCH() }()
	errc := make(chan error, 1)
	c.serving.Store(true)
	go func() { errc <- c.srv.Serve(c.ln) }()
	c.cfg.Log.Info().Str("url", c.URL()).Bool("login", !c.cfg.NoLogin).Msg("console serving")
	select {
	case err := <-errc:
		c.serving.Store(false)
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	c.serving.Store(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.srv.Shutdown(sctx); err != nil {
		_ = c.srv.Close()
	}
	<-errc
	return nil
}

// ReadKeyFile reads a session key file: its bytes, surrounding whitespace
// removed (a key written by openssl rand -base64 32 works as it is).
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console session key: %w", err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// GenerateKey returns a new random session key, base64 (what rosterd dev
// writes to its data dir).
func GenerateKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// AddUser returns a users file's content with name set to password's
// bcrypt hash ("roster console add-user").
func AddUser(file []byte, name, password string) ([]byte, error) {
	return web.AddUser(file, name, password)
}
