package ports

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// ServiceName is the micro service name (public contract).
const ServiceName = "roster-groups"

// Config configures the micro service. The limits map onto edge.Config
// (zero: the edge's defaults).
type Config struct {
	NC  *nats.Conn
	Log zerolog.Logger
	App *app.App
	// MaxInFlight bounds concurrently handled requests per process.
	MaxInFlight int
	// MaxRequestBytes and MaxHeaderBytes refuse larger requests as
	// invalid_argument.
	MaxRequestBytes int
	MaxHeaderBytes  int
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// QueueGroup lets several processes share the load.
	QueueGroup string
	Version    string
}

// Service is roster-groups on NATS.
type Service struct {
	cfg  Config
	app  *app.App
	edge *edge.Edge
	// maxRequestBytes is the edge's body cap (for the refusal's text).
	maxRequestBytes int
	// serving: every roster-groups endpoint is registered (Ready).
	serving atomic.Bool
}

// New validates cfg and returns the service, ready to Run.
func New(cfg Config) (*Service, error) {
	if cfg.App == nil {
		return nil, errors.New("ports: App is required")
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = edge.DefaultMaxRequestBytes
	}
	s := &Service{cfg: cfg, app: cfg.App, maxRequestBytes: cfg.MaxRequestBytes}
	e, err := edge.New(edge.Config{
		NC: cfg.NC, Log: cfg.Log, MaxInFlight: cfg.MaxInFlight, MaxRequestBytes: cfg.MaxRequestBytes,
		MaxHeaderBytes: cfg.MaxHeaderBytes, Timeout: cfg.RequestTimeout, Refused: s.refused,
	})
	if err != nil {
		return nil, err
	}
	s.edge = e
	return s, nil
}

// Ready reports whether Run serves roster-groups (every endpoint
// registered, not yet stopping).
func (s *Service) Ready() bool { return s.serving.Load() }

// Run serves roster-groups until ctx ends, then stops taking requests and
// waits for those in flight to be answered.
func (s *Service) Run(ctx context.Context) error {
	svc, err := micro.AddService(s.cfg.NC, micro.Config{
		Name:        ServiceName,
		Version:     s.cfg.Version,
		Description: "Roster group commands: decide and append membership events",
		QueueGroup:  s.cfg.QueueGroup,
	})
	if err != nil {
		return fmt.Errorf("add micro service: %w", err)
	}
	nouns := map[string]micro.Group{}
	names := CommandNames()
	for _, name := range names {
		noun, verb, _ := strings.Cut(name, ".")
		g, ok := nouns[noun]
		if !ok {
			g = svc.AddGroup(SubjectPrefix + noun)
			nouns[noun] = g
		}
		if err := g.AddEndpoint(verb, s.edge.AsyncHandler(name, s.endpoint(name)), micro.WithEndpointMetadata(map[string]string{
			"description": "roster command " + name,
		})); err != nil {
			_ = svc.Stop()
			s.edge.Wait()
			return fmt.Errorf("add endpoint %s: %w", name, err)
		}
	}
	s.cfg.Log.Info().Str("service", ServiceName).Int("endpoints", len(names)).Msg("serving group commands")
	s.serving.Store(true)
	<-ctx.Done()
	s.serving.Store(false)
	err = svc.Stop()
	s.edge.Wait()
	return err
}
