package jsevents

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// History reads one group's commits straight from ROSTER_EVENTS
// (app.History) through the event store's reader: its decoder and its
// range reads. The stream is opened on first use: the query service may
// start before the command service provisions it.
type History struct {
	js jetstream.JetStream

	mu     sync.Mutex
	stream jetstream.Stream
	store  *eventstore.Store
}

var _ app.History = (*History)(nil)

// NewHistory reads through js.
func NewHistory(js jetstream.JetStream) *History { return &History{js: js} }

// ForStream reads an open stream.
func ForStream(js jetstream.JetStream, s jetstream.Stream) *History {
	return &History{js: js, stream: s, store: eventstore.New(js, s)}
}

func (h *History) open(ctx context.Context) (jetstream.Stream, *eventstore.Store, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stream == nil {
		s, err := h.js.Stream(ctx, events.StreamName)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, nil, events.Errorf(events.CodeUnavailable, "%s does not exist yet", events.StreamName)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", events.StreamName, err)
		}
		h.stream, h.store = s, eventstore.New(h.js, s)
	}
	return h.stream, h.store, nil
}

// Head returns the sequence and version of the group's last commit;
// events.ErrNotFound when the group has none.
func (h *History) Head(ctx context.Context, groupID string) (uint64, uint64, error) {
	stream, _, err := h.open(ctx)
	if err != nil {
		return 0, 0, err
	}
	m, err := stream.GetLastMsgForSubject(ctx, events.Subject(groupID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, events.Errorf(events.CodeNotFound, "group %q does not exist", groupID)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("last commit of %s: %w", groupID, err)
	}
	// The version header saves decoding the body.
	v, ok := eventstore.LastVersionOf(m.Header)
	if !ok {
		c, err := eventstore.DecodeCommit(m.Data)
		if err != nil {
			return 0, 0, fmt.Errorf("commit %d: %w", m.Sequence, err)
		}
		v = c.LastVersion()
	}
	return m.Sequence, v, nil
}

// Each calls fn with the group's commits from stream sequence from up to
// and including last, in order, their events as stored (the fold upcasts),
// until fn returns false.
func (h *History) Each(ctx context.Context, groupID string, from, last uint64, fn func(seq uint64, c events.Commit) (bool, error)) error {
	from = max(from, 1)
	if from > last {
		return nil
	}
	_, store, err := h.open(ctx)
	if err != nil {
		return err
	}
	return store.Read(ctx, eventstore.Range{GroupID: groupID, FromSeq: from, ToSeq: last, AsStored: true}, func(st eventstore.Stored) error {
		more, err := fn(st.Seq, st.Commit)
		if err == nil && !more {
			return eventstore.StopRead
		}
		return err
	})
}
