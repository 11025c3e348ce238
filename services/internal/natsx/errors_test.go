package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/natsx"
)

func TestErrorClasses(t *testing.T) {
	api := func(status, code int) error {
		return fmt.Errorf("kv get: %w", &jetstream.APIError{Code: status, ErrorCode: jetstream.ErrorCode(code), Description: "x"})
	}
	for _, tc := range []struct {
		name                              string
		err                               error
		unavailable, retryable, conflicts bool
	}{
		{"nil", nil, false, false, false},
		{"no responders", fmt.Errorf("get: %w", nats.ErrNoResponders), true, true, false},
		{"timeout", nats.ErrTimeout, true, true, false},
		{"deadline", fmt.Errorf("provision: %w", context.DeadlineExceeded), true, true, false},
		{"connection closed", nats.ErrConnectionClosed, true, true, false},
		{"reconnecting", nats.ErrConnectionReconnecting, true, true, false},
		{"no servers", nats.ErrNoServers, true, true, false},
		{"no stream response", jetstream.ErrNoStreamResponse, true, true, false},
		{"jetstream not enabled", jetstream.ErrJetStreamNotEnabled, true, true, false},
		{"no meta leader", api(503, 10008), true, true, false},
		{"not the leader", api(500, 10009), true, true, false},
		{"no peers yet", api(400, 10005), true, true, false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false, true, false},
		{"stream name in use", api(400, 10058), false, false, true},
		{"subjects overlap", api(400, 10065), false, false, true},
		{"invalid config", api(500, 10052), false, false, true},
		{"replicas without cluster", api(500, 10074), false, false, true},
		{"jetstream off for the account", jetstream.ErrJetStreamNotEnabledForAccount, false, false, false},
		{"cancelled", context.Canceled, false, false, false},
		{"plain", errors.New("boom"), false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if have := natsx.Unavailable(tc.err); have != tc.unavailable {
				t.Errorf("Unavailable: want %v, have %v", tc.unavailable, have)
			}
			if have := natsx.Retryable(tc.err); have != tc.retryable {
				t.Errorf("Retryable: want %v, have %v", tc.retryable, have)
			}
			if have := natsx.Conflicting(tc.err); have != tc.conflicts {
				t.Errorf("Conflicting: want %v, have %v", tc.conflicts, have)
			}
		})
	}
}
