package kvmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// Status is the projection's progress against the event stream.
type Status struct {
	Generation Generation `json:"generation"`
	// StreamLastSeq is the last sequence of ROSTER_EVENTS.
	StreamLastSeq uint64 `json:"stream_last_seq"`
	// AppliedSeq is the stream sequence up to which every commit has been
	// applied and acknowledged (the durable consumer's ack floor).
	AppliedSeq uint64 `json:"applied_seq"`
	// Lag is StreamLastSeq - AppliedSeq: commits not yet in the model.
	Lag uint64 `json:"lag"`
	// Unacknowledged commits are being applied or waiting for redelivery.
	Unacknowledged int `json:"unacknowledged"`
	// Rebuilding is set while a rebuild holds the lock.
	Rebuilding *RebuildingStatus `json:"rebuilding,omitempty"`
}

// RebuildingStatus describes a rebuild in progress.
type RebuildingStatus struct {
	Generation uint64 `json:"generation"`
	Host       string `json:"host"`
	StartedAt  string `json:"started_at"`
	AppliedSeq uint64 `json:"applied_seq"`
}

// ReadStatus reads the projection's status from NATS; it needs no projector
// process, so `roster status` and the metrics poller share it.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (Status, error) {
	var st Status
	ctl, err := js.KeyValue(ctx, ControlBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return st, ErrNoGeneration
	}
	if err != nil {
		return st, fmt.Errorf("open %s: %w", ControlBucket, err)
	}
	if st.Generation, _, err = readActive(ctx, ctl); err != nil {
		return st, err
	}
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return st, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	si, err := stream.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	st.StreamLastSeq = si.State.LastSeq
	floor := func(gen uint64) (uint64, int, error) {
		c, err := stream.Consumer(ctx, DurableName(gen))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, 0, nil
		}
		if err != nil {
			return 0, 0, err
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return 0, 0, err
		}
		// With nothing unacknowledged and nothing pending, everything up to
		// the stream's end is applied, even if the last messages were
		// filtered or the floor has not moved.
		if ci.NumAckPending == 0 && ci.NumPending == 0 {
			return si.State.LastSeq, 0, nil
		}
		return ci.AckFloor.Stream, ci.NumAckPending, nil
	}
	if st.AppliedSeq, st.Unacknowledged, err = floor(st.Generation.Number); err != nil {
		return st, fmt.Errorf("read projector consumer: %w", err)
	}
	st.Lag = st.StreamLastSeq - min(st.AppliedSeq, st.StreamLastSeq)
	if e, err := ctl.Get(ctx, lockKey); err == nil {
		var l RebuildLock
		if json.Unmarshal(e.Value(), &l) == nil {
			rs := &RebuildingStatus{Generation: l.Generation, Host: l.Host, StartedAt: l.StartedAt.String()}
			rs.AppliedSeq, _, _ = floor(l.Generation)
			st.Rebuilding = rs
		}
	}
	return st, nil
}
