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
type ClientConfig struct {
	URL  string // nats://host:port[,nats://...]
	Name string // connection name shown by the server
	// User and Password authenticate with a user name and password without
	// putting them in the URL (where they would sit in argv and in every
	// message that prints the URL). PasswordFile names a file whose
	// content, less a trailing newline, is the password (a mounted secret).
	// A password without a user is a token.
	User         string
	Password     string
	PasswordFile string
	Creds        string // path to a .creds file (optional)
	NKey         string // path to an nkey seed file (optional)
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
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls cert and key must be given together"))
	}
	if c.Creds != "" && c.NKey != "" {
		errs = append(errs, errors.New("give either creds or nkey, not both"))
	}
	if c.Password != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("give either a password or a password file, not both"))
	}
	if c.User != "" && c.Password == "" && c.PasswordFile == "" {
		errs = append(errs, errors.New("nats user given without a password or password file"))
	}
	if strings.ContainsAny(c.InboxPrefix, "*> \t") || strings.HasSuffix(c.InboxPrefix, ".") {
		errs = append(errs, fmt.Errorf("inbox prefix %q: no wildcards, spaces or trailing dot", c.InboxPrefix))
	}
	if (c.User != "" || c.Password != "" || c.PasswordFile != "") && urlHasUserinfo(c.URL) {
		errs = append(errs, errors.New("give credentials either in the nats url or as user and password, not both"))
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
	password := c.Password
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("nats password file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
		if password == "" {
			return nil, fmt.Errorf("nats password file %s is empty", c.PasswordFile)
		}
	}
	switch {
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, password))
	case password != "":
		opts = append(opts, nats.Token(password))
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
		return nil, RedactError(fmt.Errorf("connect to nats at %s: %w", RedactURL(c.URL), err), c.URL, password)
	}
	return nc, nil
}
