package jsevents

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// delivery is a durable consumer's message as the fold sees it
// (app.Delivery).
type delivery struct {
	msg          jetstream.Msg
	seq, pending uint64
}

// NewDelivery wraps a message of a durable consumer on ROSTER_EVENTS; it
// fails when the message carries no JetStream metadata.
func NewDelivery(msg jetstream.Msg) (app.Delivery, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	return &delivery{msg: msg, seq: meta.Sequence.Stream, pending: meta.NumPending}, nil
}

func (d *delivery) Seq() uint64                    { return d.seq }
func (d *delivery) Pending() uint64                { return d.pending }
func (d *delivery) Commit() (events.Commit, error) { return eventstore.DecodeCommit(d.msg.Data()) }
func (d *delivery) Ack()                           { _ = d.msg.Ack() }
func (d *delivery) Nak(delay time.Duration)        { _ = d.msg.NakWithDelay(delay) }
