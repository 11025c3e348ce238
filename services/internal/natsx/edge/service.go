package edge

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Endpoint is one endpoint of a micro service: Handler answers on Subject
// through Edge. Name is micro's endpoint name, Label the log lines' (by
// default Name).
type Endpoint struct {
	Name, Label, Subject string
	Edge                 *Edge
	Handler              HandlerFunc
}

// ServiceConfig configures Serve.
type ServiceConfig struct {
	NC *nats.Conn
	// Name is the micro service's name and queue group.
	Name, Version, Description string
	Endpoints                  []Endpoint
	// Serving is told when every endpoint is registered and when they
	// stop (readiness); nil: nobody is told.
	Serving func(bool)
}

// Serve runs a micro service of cfg's endpoints until ctx ends, then
// stops it and waits for the requests in flight on every edge it used.
// A failure to register stops what was registered and is returned.
func Serve(ctx context.Context, cfg ServiceConfig) error {
	svc, err := micro.AddService(cfg.NC, micro.Config{
		Name: cfg.Name, Version: cfg.Version, QueueGroup: cfg.Name, Description: cfg.Description,
	})
	if err != nil {
		return fmt.Errorf("add service %s: %w", cfg.Name, err)
	}
	var edges []*Edge
	defer func() {
		_ = svc.Stop()
		for _, e := range edges {
			e.Wait()
		}
	}()
	for _, ep := range cfg.Endpoints {
		if !contains(edges, ep.Edge) {
			edges = append(edges, ep.Edge)
		}
		label := ep.Label
		if label == "" {
			label = ep.Name
		}
		if err := svc.AddEndpoint(ep.Name, ep.Edge.Handler(label, ep.Handler), micro.WithEndpointSubject(ep.Subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.Name, err)
		}
	}
	if cfg.Serving != nil {
		cfg.Serving(true)
		defer cfg.Serving(false)
	}
	<-ctx.Done()
	return nil
}

func contains(edges []*Edge, e *Edge) bool {
	for _, have := range edges {
		if have == e {
			return true
		}
	}
	return false
}
