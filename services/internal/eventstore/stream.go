package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
)

// StreamConfig is what an operator may choose about ROSTER_EVENTS.
type StreamConfig struct {
	// Replicas: 1 in dev, 3 in a cluster.
	Replicas int
	// DuplicateWindow is JetStream's Nats-Msg-Id window. Idempotency beyond
	// it is Roster's own (see docs/adr/0002); the window only saves work.
	DuplicateWindow time.Duration
	// Memory selects memory storage (benchmarks only; never for records).
	Memory bool
}

func (c *StreamConfig) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
}

// Validate reports every problem with c.
func (c StreamConfig) Validate() error {
	var errs []error
	if c.Replicas < 0 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: must be 1..5", c.Replicas))
	}
	if c.DuplicateWindow < 0 {
		errs = append(errs, errors.New("duplicate window must not be negative"))
	}
	return errors.Join(errs...)
}

// ErrIncompatibleStream is returned when ROSTER_EVENTS exists with a
// configuration Roster cannot safely use. Provisioning never changes an
// existing stream's configuration silently.
var ErrIncompatibleStream = errors.New("incompatible existing stream")

func (c StreamConfig) jetstream() jetstream.StreamConfig {
	storage := jetstream.FileStorage
	if c.Memory {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        events.StreamName,
		Description: "Roster membership events: one subject per group, append-only",
		Subjects:    []string{events.SubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     storage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		DenyDelete:  true,
		DenyPurge:   true,
		AllowDirect: true,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0,
	}
}

// Provision creates ROSTER_EVENTS when missing and checks an existing one.
// It is idempotent and safe to run from every process at start-up.
func Provision(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("event stream config: %w", err)
	}
	want := cfg.jetstream()
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, want.Name) // lost a creation race: check what won
		} else if err == nil {
			return s, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", want.Name, err)
	}
	if err := compatible(want, s.CachedInfo().Config); err != nil {
		return nil, fmt.Errorf("provision %s: %w: %v", want.Name, ErrIncompatibleStream, err)
	}
	return s, nil
}

// compatible checks the settings Roster's guarantees rest on. Replicas,
// limits and descriptions are the operator's to change.
func compatible(want, have jetstream.StreamConfig) error {
	var errs []error
	if !slices.Equal(have.Subjects, want.Subjects) {
		errs = append(errs, fmt.Errorf("subjects are [%s], want [%s]", strings.Join(have.Subjects, " "), strings.Join(want.Subjects, " ")))
	}
	if have.Retention != jetstream.LimitsPolicy {
		errs = append(errs, fmt.Errorf("retention is %s, want limits", have.Retention))
	}
	if !have.DenyDelete || !have.DenyPurge {
		errs = append(errs, errors.New("deny_delete and deny_purge must both be set: the log is immutable"))
	}
	if have.MaxAge != 0 || have.MaxMsgs > 0 || have.MaxBytes > 0 || have.MaxMsgsPerSubject > 0 {
		errs = append(errs, errors.New("limits (max age, msgs, bytes, msgs per subject) would discard events"))
	}
	if have.Storage != want.Storage {
		errs = append(errs, fmt.Errorf("storage is %s, want %s", have.Storage, want.Storage))
	}
	return errors.Join(errs...)
}
