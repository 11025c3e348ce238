package jsevents

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// ReadCommits sends the stream's commits up to and including sequence last
// to out in batches, their events as stored, and closes out. It reads
// through the event store's range reader; a commit that does not decode
// ends the read with its error (a rebuild must never skip one).
func ReadCommits(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, last uint64, out chan<- []app.StreamCommit) error {
	defer close(out)
	const batchLen = 256
	batch := make([]app.StreamCommit, 0, batchLen)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]app.StreamCommit, 0, batchLen)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Pending counts down to the last commit: the bulk phase's lag.
	err := eventstore.New(js, stream).Read(ctx, eventstore.Range{ToSeq: last, AsStored: true, Batch: 1000}, func(st eventstore.Stored) error {
		batch = append(batch, app.StreamCommit{Seq: st.Seq, Pending: last - min(st.Seq, last), Commit: st.Commit})
		if len(batch) == batchLen {
			return send()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}
