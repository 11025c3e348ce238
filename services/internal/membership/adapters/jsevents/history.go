package jsevents

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// readConsumerExpiry is how long the server keeps a history read's ordered
// consumer when its process died before deleting it.
const readConsumerExpiry = 30 * time.Second

// History reads one group's commits straight from ROSTER_EVENTS
// (app.History). The stream is opened on first use: the query service may
// start before the command service provisions it.
type History struct {
	js jetstream.JetStream

	mu     sync.Mutex
	stream jetstream.Stream
}

var _ app.History = (*History)(nil)

// NewHistory reads through js.
func NewHistory(js jetstream.JetStream) *History { return &History{js: js} }

// ForStream reads an open stream.
func ForStream(s jetstream.Stream) *History { return &History{stream: s} }

func (h *History) open(ctx context.Context) (jetstream.Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stream == nil {
		s, err := h.js.Stream(ctx, events.StreamName)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, events.Errorf(events.CodeUnavailable, "%s does not exist yet", events.StreamName)
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", events.StreamName, err)
		}
		h.stream = s
	}
	return h.stream, nil
}

// Head returns the sequence and version of the group's last commit;
// events.ErrNotFound when the group has none.
func (h *History) Head(ctx context.Context, groupID string) (uint64, uint64, error) {
	stream, err := h.open(ctx)
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
	// The Roster-Version header saves decoding the body.
	v, perr := strconv.ParseUint(m.Header.Get("Roster-Version"), 10, 64)
	if perr != nil {
		c, err := DecodeCommit(m.Data)
		if err != nil {
			return 0, 0, fmt.Errorf("commit %d: %w", m.Sequence, err)
		}
		v = c.LastVersion()
	}
	return m.Sequence, v, nil
}

// Each calls fn with the group's commits from stream sequence from up to
// and including last, in order, until fn returns false.
func (h *History) Each(ctx context.Context, groupID string, from, last uint64, fn func(seq uint64, c events.Commit) (bool, error)) error {
	from = max(from, 1)
	if from > last {
		return nil
	}
	stream, err := h.open(ctx)
	if err != nil {
		return err
	}
	oc, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{events.Subject(groupID)},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		InactiveThreshold: readConsumerExpiry,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", groupID, err)
	}
	defer natsx.ReleaseConsumer(stream, oc)
	it, err := oc.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return fmt.Errorf("read %s: %w", groupID, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", groupID, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", groupID, err)
		}
		if meta.Sequence.Stream > last {
			return nil // the group has no commit in [from, last]
		}
		c, err := DecodeCommit(msg.Data())
		if err != nil {
			return fmt.Errorf("commit %d: %w", meta.Sequence.Stream, err)
		}
		more, err := fn(meta.Sequence.Stream, c)
		if err != nil || !more || meta.Sequence.Stream >= last {
			return err
		}
	}
}
