package membership

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
)

// ReplayOptions selects the events Replay delivers.
type ReplayOptions = jsevents.ReplayOptions

// Replay calls fn with each selected event of ROSTER_EVENTS, in stream
// order, upcast to the current schema version, together with the stream
// sequence of its commit (`roster events`).
func Replay(ctx context.Context, js jetstream.JetStream, o ReplayOptions, fn func(seq uint64, e events.Event) error) error {
	return jsevents.Replay(ctx, js, o, fn)
}
