package jsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// Queue is the deliveries work queue and the attempt state bucket.
type Queue struct {
	js         jetstream.JetStream
	deliveries jetstream.Stream
	jobs       jetstream.KeyValue
}

// Provision creates the deliveries stream, the jobs bucket (attempt state
// kept jobStateTTL after its last change) and the poison stream when
// missing.
func Provision(ctx context.Context, js jetstream.JetStream, replicas int, jobStateTTL time.Duration) (*Queue, error) {
	deliveries, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeliveriesStream,
		Description: "Roster webhook delivery jobs: one subject per endpoint and group, work queue",
		Subjects:    []string{DeliverySubjectPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Duplicates:  duplicateWindow,
		Discard:     jetstream.DiscardNew,
		AllowDirect: true,
	})
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", DeliveriesStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        PoisonStream,
		Description: "Commits the webhook fan-out could not read (inspect, fix, replay by redeliver)",
		Subjects:    []string{PoisonSubject},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      30 * 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("provision %s: %w", PoisonStream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      JobsBucket,
		Description: "Roster webhook attempt state per endpoint and event",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		TTL:         jobStateTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", JobsBucket, err)
	}
	return &Queue{js: js, deliveries: deliveries, jobs: kv}, nil
}

// Enqueue stores one job synchronously (redeliver; the fan-out publishes
// its batches asynchronously).
func (q *Queue) Enqueue(ctx context.Context, j app.OutJob) error {
	m := nats.NewMsg(DeliverySubject(j.EndpointID, j.GroupID))
	m.Data = j.Body
	if _, err := q.js.PublishMsg(ctx, m, jetstream.WithMsgID(j.MsgID)); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.MsgID, err)
	}
	return nil
}

// Head returns the oldest job still queued on subject.
func (q *Queue) Head(ctx context.Context, subject string) (uint64, []byte, bool, error) {
	m, err := q.deliveries.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	return m.Sequence, m.Data, true, nil
}

// Depth is endpoint id's count of queued plus in-flight jobs.
func (q *Queue) Depth(ctx context.Context, id string) (uint64, error) {
	c, err := q.deliveries.Consumer(ctx, ConsumerName(id))
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// States is the attempt state bucket as app.JobStates.
func (q *Queue) States() States { return States{kv: q.jobs} }
