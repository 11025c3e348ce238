package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/console"
)

// consoleOptions configure the operator console (docs/console.md,
// docs/adr/0095).
type consoleOptions struct {
	listen         string // --console-listen; "rosterd console --listen"
	usersFile      string // --console-users
	sessionKeyFile string // --console-session-key-file
	insecureCookie bool   // --console-insecure-cookie
	// devDir is set by "rosterd dev": the session key is generated there
	// when none is configured, and on loopback without a users file the
	// console runs without login.
	devDir string
}

func (c *consoleOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&c.usersFile, "console-users", envOr("ROSTER_CONSOLE_USERS", ""),
		"operator console users file, lines name:bcrypt-hash (roster console add-user) ($ROSTER_CONSOLE_USERS)")
	f.StringVar(&c.sessionKeyFile, "console-session-key-file", envOr("ROSTER_CONSOLE_SESSION_KEY_FILE", ""),
		"file holding the key (32+ random bytes) that signs console sessions; the same for every console behind one balancer ($ROSTER_CONSOLE_SESSION_KEY_FILE)")
	f.BoolVar(&c.insecureCookie, "console-insecure-cookie", envOr("ROSTER_CONSOLE_INSECURE_COOKIE", "") == "true",
		"send the console's session cookie over plain HTTP on a non-loopback address (not for production)")
}

// bindListen binds the console's listen address as name (--listen on
// "rosterd console", --console-listen on "all" and "dev").
func (c *consoleOptions) bindListen(f *pflag.FlagSet, name string) {
	f.StringVar(&c.listen, name, envOr("ROSTER_CONSOLE_LISTEN", console.DefaultListen), "operator console HTTP address ($ROSTER_CONSOLE_LISTEN)")
}

// noLogin: the dev stack on loopback without a users file.
func (c *consoleOptions) noLogin() bool {
	if c.devDir == "" || c.usersFile != "" {
		return false
	}
	host, _, err := net.SplitHostPort(c.listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// sessionKey reads the configured key, or under dev the data dir's,
// generated on first use.
func (c *consoleOptions) sessionKey(log zerolog.Logger) ([]byte, error) {
	path := c.sessionKeyFile
	if path == "" && c.devDir != "" {
		path = filepath.Join(c.devDir, "console-session.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(c.devDir, 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(console.GenerateKey()+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("dev console session key: %w", err)
			}
			log.Warn().Str("file", path).Msg("generated a dev console session key; production sets --console-session-key-file")
		}
	}
	if path == "" {
		return nil, nil
	}
	return console.ReadKeyFile(path)
}

// newConsoleService is "rosterd console": the operator console. In "all"
// it runs when a users file is configured (an unauthenticated console is
// for "rosterd dev" on loopback only); otherwise it says so and stays off.
func newConsoleService() service {
	return service{
		name:  "console",
		short: "Serve the operator console (web UI) on --listen (default " + console.DefaultListen + ")",
		build: func(ctx context.Context, e *env) ([]component, error) {
			o := &e.opts.console
			log := e.log.With().Str("component", "console").Logger()
			if o.listen == "" || (e.opts.service == "all" && o.usersFile == "") {
				why := "--console-users is not set (roster console add-user makes the file)"
				if o.listen == "" {
					why = "--console-listen is empty"
				}
				return []component{{name: "console", run: func(ctx context.Context) error {
					log.Warn().Msg("operator console off: " + why)
					<-ctx.Done()
					return nil
				}}}, nil
			}
			key, err := o.sessionKey(log)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errPermanent, err)
			}
			c, err := console.New(console.Config{
				NC: e.nc, JS: e.js, Log: log, Listen: o.listen,
				ClickHouse: audit.ClickHouseConfig{DSN: e.opts.clickhouseDSN},
				NoLogin:    o.noLogin(), UsersFile: o.usersFile, SessionKey: key, InsecureCookie: o.insecureCookie,
			})
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errPermanent, err)
			}
			return []component{{name: "console", run: c.Run, ready: c.Ready}}, nil
		},
		flags: func(f *pflag.FlagSet, o *options) { o.console.bindListen(f, "listen") },
	}
}
