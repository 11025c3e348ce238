package jsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/webhook/app"
)

// States reads and writes attempt state in ROSTER_WEBHOOK_JOBS with
// compare-and-set.
type States struct{ kv jetstream.KeyValue }

// Get returns key's state and revision (0: absent).
func (s States) Get(ctx context.Context, key string) (app.JobState, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return app.JobState{}, 0, nil
	}
	if err != nil {
		return app.JobState{}, 0, fmt.Errorf("job state %s: %w", key, err)
	}
	var st app.JobState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return app.JobState{}, 0, fmt.Errorf("job state %s: %w", key, err)
	}
	return st, e.Revision(), nil
}

// Put writes st if the key is still at rev (0: absent).
func (s States) Put(ctx context.Context, key string, st app.JobState, rev uint64) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, key, b)
	} else {
		_, err = s.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return app.ErrStateConflict
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return app.ErrStateConflict
	}
	return err
}
