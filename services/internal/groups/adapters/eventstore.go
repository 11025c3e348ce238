package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

// EventStore is the JetStream event store as the command side uses it: an
// append refused for its size matches app.ErrTooLarge, so the app need not
// know NATS errors.
type EventStore struct {
	*eventstore.Store
}

var _ app.EventStore = EventStore{}

// Append implements app.EventStore.
func (s EventStore) Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, c, expectedSeq, opts...)
	if isTooLarge(err) {
		return res, fmt.Errorf("%w: %w", app.ErrTooLarge, err)
	}
	return res, err
}

// isTooLarge reports whether an append failed because the message is
// larger than the connection (nats.ErrMaxPayload, checked by the client
// before sending) or the stream (max_msg_size, JetStream error 10054)
// accepts.
func isTooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

var _ app.AsyncAppender = EventStore{}

// AppendAsync implements app.AsyncAppender, with Append's error mapping.
func (s EventStore) AppendAsync(c events.Commit, expectedSeq uint64, done eventstore.AppendDone, opts ...eventstore.AppendOption) {
	s.Store.AppendAsync(c, expectedSeq, func(res eventstore.AppendResult, err error) {
		if isTooLarge(err) {
			err = fmt.Errorf("%w: %w", app.ErrTooLarge, err)
		}
		done(res, err)
	}, opts...)
}
