package natsx

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ClientConfig says how a service connects to an existing NATS deployment.
// Credentials never travel in the URL: give a creds file, an nkey seed
// file, or a user with a password (from a file or the environment).
type ClientConfig struct {
	URL   string // nats://host:port[,nats://...]
	Name  string // connection name shown by the server
	Creds string // path to a .creds file (optional)
	NKey  string // path to an nkey seed file (optional)
	// User and Password (or PasswordFile, whose first line is the
	// password) authenticate by user name (optional).
	User         string
	Password     string
	PasswordFile string
	// InboxPrefix replaces "_INBOX" for this connection's reply subjects,
	// so a server permission can grant each service only its own inbox
	// (docs/adr/0052). Empty keeps the default.
	InboxPrefix string
	// TLS (optional): a CA to trust, and a client certificate and key.
	TLSCA   string
	TLSCert string
	TLSKey  string
}

// Validate reports every problem with c.
func (c ClientConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("nats url is required"))
	}
	if strings.Contains(c.URL, "@") {
		errs = append(errs, errors.New("nats url must not carry credentials: use a creds file, an nkey or a user with a password file"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls cert and key must be given together"))
	}
	methods := 0
	for _, set := range []bool{c.Creds != "", c.NKey != "", c.User != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		errs = append(errs, errors.New("give one of creds, nkey or user, not several"))
	}
	if c.Password != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("give either a password or a password file, not both"))
	}
	if c.User == "" && (c.Password != "" || c.PasswordFile != "") {
		errs = append(errs, errors.New("a password needs a user"))
	}
	if strings.ContainsAny(c.InboxPrefix, "*> \t") || strings.HasSuffix(c.InboxPrefix, ".") {
		errs = append(errs, fmt.Errorf("inbox prefix %q: no wildcards, spaces or trailing dot", c.InboxPrefix))
	}
	return errors.Join(errs...)
}

// Connect dials NATS with reconnects that never give up: services ride out
// a server restart instead of exiting.
func Connect(c ClientConfig) (*nats.Conn, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("nats client config: %w", err)
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(5 * time.Second),
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKey)
		if err != nil {
			return nil, fmt.Errorf("nats nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if c.User != "" {
		pw := c.Password
		if c.PasswordFile != "" {
			b, err := os.ReadFile(c.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("nats password file: %w", err)
			}
			pw, _, _ = strings.Cut(string(b), "\n")
			pw = strings.TrimRight(pw, "\r")
		}
		opts = append(opts, nats.UserInfo(c.User, pw))
	}
	if c.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(c.InboxPrefix))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", c.URL, err)
	}
	return nc, nil
}
