package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/audit/adapters/auditstream"
	"github.com/rosterhq/roster/services/internal/console/app"
	"github.com/rosterhq/roster/services/internal/membership"
	"github.com/rosterhq/roster/services/internal/webhook/adapters/jsqueue"
)

// The audit sink's durable consumers (audit.SinkConfig's defaults): the
// console reads their info, never their messages.
const (
	AuditConsumer       = "roster-auditsink"
	AuditEventsConsumer = "roster-auditsink-events"
)

// PingTimeout bounds one service ping (what roster status waits).
const PingTimeout = 500 * time.Millisecond

// Status is app.Status: micro service pings (as roster status sends them),
// the projection's status (membership.ReadStatus) and consumer info.
type Status struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

var _ app.Status = Status{}

// Services pings each service once, concurrently.
func (s Status) Services(ctx context.Context, names []string) []app.ServiceStatus {
	out := make([]app.ServiceStatus, len(names))
	done := make(chan struct{}, len(names))
	for i, name := range names {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = app.ServiceStatus{Name: name}
			pctx, cancel := context.WithTimeout(ctx, PingTimeout)
			defer cancel()
			_, err := s.NC.RequestWithContext(pctx, "$SRV.PING."+name, nil)
			switch {
			case err == nil:
				out[i].Up = true
			case errors.Is(err, nats.ErrNoResponders):
				out[i].Detail = "down (no instance)"
			default:
				out[i].Detail = "not answering: " + err.Error()
			}
		}()
	}
	for range names {
		<-done
	}
	return out
}

// Projection is membership.ReadStatus.
func (s Status) Projection(ctx context.Context) (app.Projection, error) {
	st, err := membership.ReadStatus(ctx, s.JS)
	if err != nil {
		return app.Projection{}, err
	}
	return app.Projection{
		Generation: st.Generation.Number, Bucket: st.Generation.Bucket, StreamLastSeq: st.StreamLastSeq,
		AppliedSeq: st.AppliedSeq, Lag: st.Lag, Rebuilding: st.Rebuilding != nil,
	}, nil
}

// AuditLag is what the sink's two consumers have not acknowledged.
func (s Status) AuditLag(ctx context.Context) (app.AuditLag, error) {
	rec, err := s.pending(ctx, auditstream.StreamName, AuditConsumer)
	if err != nil {
		return app.AuditLag{}, err
	}
	com, err := s.pending(ctx, events.StreamName, AuditEventsConsumer)
	return app.AuditLag{Records: rec, Commits: com}, err
}

// QueueDepth is the endpoint's delivery consumer's pending plus in-flight
// jobs (what the dispatcher's roster_webhook_queue_depth samples).
func (s Status) QueueDepth(ctx context.Context, endpointID string) (uint64, error) {
	return s.pending(ctx, jsqueue.DeliveriesStream, jsqueue.ConsumerName(endpointID))
}

func (s Status) pending(ctx context.Context, stream, consumer string) (uint64, error) {
	c, err := s.JS.Consumer(ctx, stream, consumer)
	if err != nil {
		return 0, err
	}
	// Consumer fetched the info already.
	info := c.CachedInfo()
	return info.NumPending + uint64(info.NumAckPending), nil
}
