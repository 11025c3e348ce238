// Package auditstream is the audit trail's JetStream side: the stream
// ROSTER_AUDIT (Provision), and the sink's sources, the durable consumers
// on ROSTER_AUDIT and ROSTER_EVENTS (app.Source), with their dead letters.
package auditstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// StreamName is ROSTER_AUDIT (record.StreamName).
const StreamName = record.StreamName

// StreamConfig is what an operator may choose about ROSTER_AUDIT.
type StreamConfig struct {
	// Replicas: 1 in dev, 3 in a cluster.
	Replicas int
	// MaxAge bounds how long a record stays in JetStream after it was
	// published, whether or not ClickHouse has it. It must exceed the
	// longest ClickHouse outage to survive (default 30 days, see
	// docs/adr/0021). The stream also serves as a replay source.
	MaxAge time.Duration
	// DuplicateWindow is the Nats-Msg-Id window that drops a record a
	// publisher retried after a lost acknowledgement.
	DuplicateWindow time.Duration
}

func (c *StreamConfig) SetDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
}

// Validate reports every problem with c.
func (c StreamConfig) Validate() error {
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: must be 1..5", c.Replicas))
	}
	if c.MaxAge < time.Hour {
		errs = append(errs, fmt.Errorf("max age %s: must be at least 1h (it is the buffer for ClickHouse outages)", c.MaxAge))
	}
	if c.DuplicateWindow <= 0 || c.DuplicateWindow > c.MaxAge {
		errs = append(errs, fmt.Errorf("duplicate window %s: must be positive and within max age", c.DuplicateWindow))
	}
	return errors.Join(errs...)
}

// Provision creates ROSTER_AUDIT when missing (file storage, limits
// retention) and returns it. An existing stream is used as it is: its limits
// are the operator's. Idempotent; every publisher and sink calls it.
func Provision(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("audit stream config: %w", err)
	}
	want := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Roster audit records on their way to ClickHouse, and dead letters",
		Subjects:    []string{record.SubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
	s, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", StreamName, err)
	}
	return s, nil
}
