package membership

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// JetStream API error codes that say JetStream, or a stream's group, cannot
// answer right now (no meta leader, a stream between leaders, a cluster
// still forming).
var unavailableAPICodes = map[jetstream.ErrorCode]bool{
	10004: true, // incomplete results
	10005: true, // no suitable peers for placement
	10008: true, // JetStream system temporarily unavailable
	10009: true, // JetStream cluster can not handle request
	10023: true, // insufficient resources
	10076: true, // JetStream not enabled (yet)
	10163: true, // expected last sequence per subject temporarily unavailable
}

// transportUnavailable reports whether err is NATS or JetStream failing to
// answer (no responders, a timeout or deadline, a closed or reconnecting
// connection, JetStream or a stream leader temporarily unavailable): the
// caller may retry. It is the same rule as the services' natsx.Unavailable,
// which this module cannot import.
func transportUnavailable(err error) bool {
	for _, target := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
		nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrConnectionReconnecting,
		nats.ErrNoServers, nats.ErrDisconnected, nats.ErrStaleConnection,
		jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrServerShutdown,
		jetstream.ErrNoHeartbeat, jetstream.ErrConsumerLeadershipChanged,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && unavailableAPICodes[apiErr.ErrorCode]
}

// wireCode is err's wire code: its own when it has one, "unavailable" for
// a transport failure, "internal" otherwise.
func wireCode(err error) events.Code {
	c := events.CodeOf(err)
	if c == events.CodeInternal && transportUnavailable(err) {
		return events.CodeUnavailable
	}
	return c
}
