package jsevents

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// Decoded is one commit of an ordered read of the stream.
type Decoded = app.StreamCommit

// ReadCommits sends the stream's commits up to and including sequence last
// to out in batches, decoded, and closes out. It stops early when the
// stream has nothing more (last was not a commit).
func ReadCommits(ctx context.Context, stream jetstream.Stream, last uint64, out chan<- []Decoded) error {
	defer close(out)
	oc, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	defer it.Stop()
	const batchLen = 256
	batch := make([]Decoded, 0, batchLen)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]Decoded, 0, batchLen)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamName, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamName, err)
		}
		seq := meta.Sequence.Stream
		if seq > last {
			break
		}
		d := Decoded{Seq: seq, Pending: meta.NumPending}
		if d.Commit, err = DecodeCommit(msg.Data()); err != nil {
			d.Err = err
		}
		batch = append(batch, d)
		if d.Err != nil || seq >= last || meta.NumPending == 0 {
			break
		}
		if len(batch) == batchLen {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}
