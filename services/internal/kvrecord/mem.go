package kvrecord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Mem is an in-memory record store keeping the contract of the NATS KV
// store (jskv.Store): records are kept encoded (so secrets are sealed as
// they would be at rest), revisions grow store-wide, and an update
// function runs under the store's lock, so no write races it. Safe for
// concurrent use.
type Mem[T any] struct {
	codec Codec[T]
	errs  Errors

	mu      sync.Mutex
	rev     uint64
	records map[string]memRecord
	history [][]byte // every record written, for AtRest
}

type memRecord struct {
	rev  uint64
	data []byte
}

// NewMem returns an empty in-memory store of the records codec describes.
func NewMem[T any](codec Codec[T], errs Errors) *Mem[T] {
	return &Mem[T]{codec: codec, errs: errs, records: map[string]memRecord{}}
}

// AtRest returns every record written, encoded as stored.
func (s *Mem[T]) AtRest() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

func (s *Mem[T]) put(v T) (uint64, error) {
	b, err := s.codec.Encode(v)
	if err != nil {
		return 0, err
	}
	s.rev++
	s.records[s.codec.Key(v)] = memRecord{rev: s.rev, data: b}
	s.history = append(s.history, b)
	return s.rev, nil
}

// Create stores a new record; Errors.Exists when the id is taken.
func (s *Mem[T]) Create(_ context.Context, v T) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.codec.Key(v)
	if _, ok := s.records[id]; ok {
		return 0, fmt.Errorf("%q: %w", id, s.errs.Exists)
	}
	return s.put(v)
}

func (s *Mem[T]) get(id string) (T, uint64, error) {
	r, ok := s.records[id]
	if !ok {
		var zero T
		return zero, 0, fmt.Errorf("%q: %w", id, s.errs.NotFound)
	}
	v, _, err := s.codec.Decode(r.data)
	return v, r.rev, err
}

// Get returns a record and its revision; Errors.NotFound when absent.
func (s *Mem[T]) Get(_ context.Context, id string) (T, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id)
}

// List returns every record in Codec.Compare order.
func (s *Mem[T]) List(context.Context) ([]T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(s.records))
	for id := range s.records {
		v, _, err := s.get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, s.codec.Compare)
	return out, nil
}

// Update applies fn to a copy of the current record under the store's
// lock and stores the result. fn's error aborts the update and is returned
// (Errors.NoChange: nothing written, nil error, changed false).
func (s *Mem[T]) Update(_ context.Context, id string, fn func(*T) error) (T, uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, rev, err := s.get(id)
	if err != nil {
		return cur, 0, false, err
	}
	next := s.codec.Clone(cur)
	if err := fn(&next); errors.Is(err, s.errs.NoChange) {
		return cur, rev, false, nil
	} else if err != nil {
		return cur, rev, false, err
	}
	nrev, err := s.put(next)
	if err != nil {
		return cur, rev, false, err
	}
	return next, nrev, true, nil
}

// Delete removes a record and returns what it was; Errors.NotFound when
// absent.
func (s *Mem[T]) Delete(_ context.Context, id string) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _, err := s.get(id)
	if err != nil {
		return cur, err
	}
	delete(s.records, id)
	s.rev++
	return cur, nil
}
