package natsx

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream API error codes that say the JetStream system or a stream's or
// consumer's group cannot answer right now (a cluster without a meta
// leader, a stream between leaders, a cluster still forming).
const (
	errCodeClusterIncomplete = 10004 // incomplete results
	errCodeClusterNoPeers    = 10005 // no suitable peers for placement
	errCodeClusterNotAvail   = 10008 // JetStream system temporarily unavailable
	errCodeClusterNotLeader  = 10009 // JetStream cluster can not handle request
	errCodeInsufficientRes   = 10023 // insufficient resources (peers missing)
	errCodeNotEnabled        = 10076 // JetStream not enabled (yet, on a starting server)
	errCodeLastSeqNotReady   = 10163 // expected last sequence per subject temporarily unavailable
	errCodeStreamInvalidCfg  = 10052 // invalid stream configuration
	errCodeReplicasNotSupp   = 10074 // replicas > 1 not supported in non-clustered mode
)

// Unavailable reports whether err says NATS or JetStream could not be
// reached or could not answer in time: no responders, a timeout or
// deadline, a closed, draining or reconnecting connection, no server,
// JetStream (or the stream's leader) temporarily unavailable. Retrying
// later may succeed; at the edge it is the wire code "unavailable", never
// "internal".
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	for _, target := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
		nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrConnectionReconnecting,
		nats.ErrNoServers, nats.ErrDisconnected, nats.ErrStaleConnection,
		jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrServerShutdown,
		jetstream.ErrNoHeartbeat, jetstream.ErrAsyncPublishTimeout, jetstream.ErrConsumerLeadershipChanged,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeClusterIncomplete, errCodeClusterNoPeers, errCodeClusterNotAvail, errCodeClusterNotLeader,
			errCodeInsufficientRes, errCodeNotEnabled, errCodeLastSeqNotReady:
			return true
		}
	}
	return false
}

// Retryable reports whether an operation that failed with err may succeed
// when tried again unchanged: NATS unavailable (Unavailable), or the
// network below any client (refused, reset, DNS, EOF mid-answer).
func Retryable(err error) bool {
	if Unavailable(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Conflicting reports whether err is JetStream refusing what was asked
// for good: a stream or consumer that exists with an incompatible
// configuration, an invalid configuration, a bad request. Trying again
// cannot help; the operator must change the configuration or the server.
func Conflicting(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || Unavailable(err) {
		return false
	}
	return apiErr.Code == 400 || apiErr.ErrorCode == errCodeStreamInvalidCfg || apiErr.ErrorCode == errCodeReplicasNotSupp
}
