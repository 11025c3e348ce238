// Package ports serves the roster-webhooks micro service: the subjects
// roster.webhook.endpoint.<verb> and roster.webhook.redeliver, each
// decoded, answered and mapped to the wire by services/internal/natsx/edge
// and handled by one app use case. Nothing here reads or writes storage.
package ports

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/edge"
	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// Public names (contract).
const (
	ServiceName      = "roster-webhooks"
	SubjectPrefix    = "roster.webhook.endpoint."
	SubjectRedeliver = "roster.webhook.redeliver"
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes = 64 << 10
	// MaxConcurrentTests bounds the endpoint.test calls one dispatcher
	// runs at once: each waits on a receiver for up to the endpoint's
	// timeout, so they have a pool of their own and never queue behind
	// other requests (nor those behind them).
	MaxConcurrentTests = 32
	// requestTimeout bounds one request: above the longest endpoint
	// timeout (endpoint.MaxTimeout), which a test attempt may wait out.
	requestTimeout = 70 * time.Second
)

// Verbs lists the endpoint verbs (roster.webhook.endpoint.<verb>).
var Verbs = []string{"create", "update", "get", "list", "delete", "pause", "resume", "rotate_secret", "test"}

// Config configures Serve.
type Config struct {
	NC      *nats.Conn
	App     *app.App
	Log     zerolog.Logger
	Version string
	// Serving is told when the endpoints are registered and when they
	// stop (readiness).
	Serving func(bool)
}

// Serve runs the roster-webhooks micro service until ctx ends, then
// stops it and waits for the requests in flight.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.App == nil {
		return errors.New("roster-webhooks: App is required")
	}
	edgeCfg := edge.Config{NC: cfg.NC, Log: cfg.Log, MaxRequestBytes: MaxRequestBytes, Timeout: requestTimeout}
	main, err := edge.New(edgeCfg)
	if err != nil {
		return err
	}
	edgeCfg.MaxInFlight = MaxConcurrentTests
	tests, err := edge.New(edgeCfg)
	if err != nil {
		return err
	}
	a := cfg.App
	// Requests in flight when the service stops are cancelled (a test
	// waiting on a hanging receiver would otherwise hold the shutdown for
	// up to the endpoint's timeout); edge still answers them.
	handle := func(h edge.HandlerFunc) edge.HandlerFunc { return stopWith(ctx, h) }
	handlers := map[string]edge.HandlerFunc{
		"create":        handle(edge.Parsed(app.ParseCreate, a.CreateEndpoint)),
		"update":        handle(edge.Parsed(app.ParseUpdate, a.UpdateEndpoint)),
		"get":           handle(edge.Parsed(parseID(false), a.GetEndpoint)),
		"list":          handle(edge.Parsed(parseList, func(ctx context.Context, _ struct{}) (app.ListReply, error) { return a.ListEndpoints(ctx) })),
		"delete":        handle(edge.Parsed(parseID(true), a.DeleteEndpoint)),
		"pause":         handle(edge.Parsed(parseID(true), a.PauseEndpoint)),
		"resume":        handle(edge.Parsed(parseID(true), a.ResumeEndpoint)),
		"rotate_secret": handle(edge.Parsed(app.ParseRotate, a.RotateSecret)),
		"test":          handle(edge.Parsed(parseID(true), a.TestEndpoint)),
	}
	var eps []edge.Endpoint
	for _, verb := range Verbs {
		e := main
		if verb == "test" {
			e = tests
		}
		eps = append(eps, edge.Endpoint{Name: verb, Label: "endpoint." + verb, Subject: SubjectPrefix + verb, Edge: e, Handler: handlers[verb]})
	}
	eps = append(eps, edge.Endpoint{Name: "redeliver", Subject: SubjectRedeliver, Edge: main, Handler: handle(edge.Parsed(app.ParseRedeliver, a.Redeliver))})
	return edge.Serve(ctx, edge.ServiceConfig{
		NC: cfg.NC, Name: ServiceName, Version: cfg.Version, Serving: cfg.Serving, Endpoints: eps,
		Description: "Roster webhook endpoints: manage, test, redeliver",
	})
}

// stopWith cancels h's context when stop ends.
func stopWith(stop context.Context, h edge.HandlerFunc) edge.HandlerFunc {
	return func(ctx context.Context, r edge.Request) (edge.Reply, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(stop, cancel)()
		return h(ctx, r)
	}
}

// parseID parses a request naming one endpoint; get takes no actor.
func parseID(needActor bool) func([]byte) (app.IDRequest, error) {
	return func(b []byte) (app.IDRequest, error) { return app.ParseID(b, needActor) }
}

func parseList(b []byte) (struct{}, error) { return struct{}{}, app.ParseList(b) }
