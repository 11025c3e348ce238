package natsx

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures an in-process NATS server with JetStream.
type EmbeddedConfig struct {
	// Host and Port to listen on; Port -1 picks a free port (tests).
	Host string
	Port int
	// StoreDir holds JetStream's files. Empty means a temporary directory
	// chosen by the server (tests only: data is lost on exit).
	StoreDir string
	// SyncAlways makes JetStream fsync before acknowledging a write
	// (sync_interval: always). NATS's default acknowledges before fsync and
	// can lose acknowledged writes on power failure; see docs/adr/0003.
	SyncAlways bool
	// MaxPayload raises the server's max message size (bytes); 0 keeps 1 MiB.
	MaxPayload int32
	// StartTimeout bounds how long Start waits for the server to be ready.
	StartTimeout time.Duration
}

func (c *EmbeddedConfig) setDefaults() {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Second
	}
}

// Validate reports every problem with c.
func (c EmbeddedConfig) Validate() error {
	var errs []error
	if c.Port < -1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	if c.MaxPayload < 0 {
		errs = append(errs, errors.New("max payload must not be negative"))
	}
	return errors.Join(errs...)
}

// ErrPortInUse is returned when the embedded server's port is taken.
var ErrPortInUse = errors.New("port already in use")

// StartEmbedded starts an in-process NATS server with JetStream enabled and
// waits until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("embedded nats config: %w", err)
	}
	if cfg.Port > 0 {
		// The server would only log a bind failure; check up front so the
		// user gets a clear error.
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
		if err != nil {
			return nil, fmt.Errorf("embedded nats on %s:%d: %w (%v)", cfg.Host, cfg.Port, ErrPortInUse, err)
		}
		_ = l.Close()
	}
	opts := &server.Options{
		ServerName: "roster-embedded",
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		MaxPayload: cfg.MaxPayload,
	}
	if cfg.SyncAlways {
		opts.SyncAlways = true
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.StartTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats on %s:%d: not ready after %s", cfg.Host, cfg.Port, cfg.StartTimeout)
	}
	return ns, nil
}
