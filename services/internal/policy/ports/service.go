// Package ports serves the roster-policy micro service: the subjects
// roster.policy.hook.<verb>, each decoded, answered and mapped to the wire
// by services/internal/natsx/edge and handled by one app use case. Nothing
// here reads or writes storage.
package ports

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/natsx/edge"
	"github.com/rosterhq/roster/services/internal/policy/app"
)

// Public names (contract).
const (
	ServiceName   = "roster-policy"
	SubjectPrefix = "roster.policy.hook."
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes = 64 << 10
	// requestTimeout bounds one request: a create or an update resolves
	// the hook's host (5s at most) and waits for its audit record.
	requestTimeout = 20 * time.Second
)

// Verbs lists the hook verbs (roster.policy.hook.<verb>).
var Verbs = []string{"create", "update", "get", "list", "delete"}

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

// Serve runs the roster-policy micro service until ctx ends, then stops it
// and waits for the requests in flight.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.App == nil {
		return errors.New("roster-policy: App is required")
	}
	e, err := edge.New(edge.Config{NC: cfg.NC, Log: cfg.Log, MaxRequestBytes: MaxRequestBytes, Timeout: requestTimeout})
	if err != nil {
		return err
	}
	a := cfg.App
	handlers := map[string]edge.HandlerFunc{
		"create": edge.Parsed(app.ParseCreate, a.CreateHook),
		"update": edge.Parsed(app.ParseUpdate, a.UpdateHook),
		"get":    edge.Parsed(parseID(false), a.GetHook),
		"list":   edge.Parsed(app.ParseList, a.ListHooks),
		"delete": edge.Parsed(parseID(true), a.DeleteHook),
	}
	var eps []edge.Endpoint
	for _, verb := range Verbs {
		eps = append(eps, edge.Endpoint{Name: verb, Label: "hook." + verb, Subject: SubjectPrefix + verb, Edge: e, Handler: handlers[verb]})
	}
	return edge.Serve(ctx, edge.ServiceConfig{
		NC: cfg.NC, Name: ServiceName, Version: cfg.Version, Serving: cfg.Serving, Endpoints: eps,
		Description: "Roster policy hooks: create, update, get, list, delete",
	})
}

// parseID parses a request naming one hook; get takes no actor.
func parseID(needActor bool) func([]byte) (app.IDRequest, error) {
	return func(b []byte) (app.IDRequest, error) { return app.ParseID(b, needActor) }
}
