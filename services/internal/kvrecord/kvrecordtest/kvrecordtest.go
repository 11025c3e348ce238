// Package kvrecordtest is the part of a record store's contract that the
// kvrecord machinery keeps for every record kind: typed errors for a taken
// or missing id, no lost update under concurrent read-modify-writes, and
// deletes racing updates that end in a typed outcome. The kinds' own
// contract suites (endpointtest, hooktest) run these cases next to theirs,
// against every adapter.
package kvrecordtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rosterhq/roster/services/internal/kvrecord"
)

// Store is the part of a record store these cases use.
type Store[T any] interface {
	Create(ctx context.Context, v T) (uint64, error)
	Get(ctx context.Context, id string) (T, uint64, error)
	Update(ctx context.Context, id string, fn func(*T) error) (T, uint64, bool, error)
	Delete(ctx context.Context, id string) (T, error)
}

// Kind describes the records of the store under test.
type Kind[T any] struct {
	Errors kvrecord.Errors
	// Valid returns a valid new record with id.
	Valid func(t *testing.T, id string) T
	// Bump changes a record in a way Bumps counts: Bumps(Valid) is 0,
	// and each Bump adds one.
	Bump  func(v *T)
	Bumps func(v T) int
	// Vary makes the (i, j)th change of a racing update.
	Vary func(v *T, i, j int)
}

// Run runs every case, each on a fresh, empty store made by store.
func Run[T any](t *testing.T, k Kind[T], store func(t *testing.T) Store[T]) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Kind[T], Store[T])
	}{
		{"CreateTwice", testCreateTwice[T]},
		{"Missing", testMissing[T]},
		{"ConcurrentUpdates", testConcurrentUpdates[T]},
		{"DeletesRacingUpdates", testDeletesRacingUpdates[T]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, k, store(t))
		})
	}
}

func testCreateTwice[T any](t *testing.T, k Kind[T], s Store[T]) {
	ctx := context.Background()
	if _, err := s.Create(ctx, k.Valid(t, "id1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, k.Valid(t, "id1")); !errors.Is(err, k.Errors.Exists) {
		t.Fatalf("second create: want %v, have %v", k.Errors.Exists, err)
	}
}

func testMissing[T any](t *testing.T, k Kind[T], s Store[T]) {
	ctx := context.Background()
	if _, _, err := s.Get(ctx, "nope"); !errors.Is(err, k.Errors.NotFound) {
		t.Fatalf("get: want %v, have %v", k.Errors.NotFound, err)
	}
	if _, _, _, err := s.Update(ctx, "nope", func(*T) error { return nil }); !errors.Is(err, k.Errors.NotFound) {
		t.Fatalf("update: want %v, have %v", k.Errors.NotFound, err)
	}
	if _, err := s.Delete(ctx, "nope"); !errors.Is(err, k.Errors.NotFound) {
		t.Fatalf("delete: want %v, have %v", k.Errors.NotFound, err)
	}
}

// Concurrent read-modify-writes never lose one another's change.
func testConcurrentUpdates[T any](t *testing.T, k Kind[T], s Store[T]) {
	ctx := context.Background()
	if _, err := s.Create(ctx, k.Valid(t, "id1")); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					_, _, _, err := s.Update(ctx, "id1", func(v *T) error {
						k.Bump(v)
						return nil
					})
					if errors.Is(err, k.Errors.Contention) {
						continue // the contract allows it: the caller retries
					}
					if err != nil {
						errs <- err
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _, err := s.Get(ctx, "id1")
	if err != nil {
		t.Fatal(err)
	}
	if have := k.Bumps(got); have != writers*each {
		t.Fatalf("want %d changes, have %d: an update was lost", writers*each, have)
	}
}

// Deletes racing updates: every outcome is success, NotFound (the other
// side deleted first) or Contention, never an untyped error.
func testDeletesRacingUpdates[T any](t *testing.T, k Kind[T], s Store[T]) {
	ctx := context.Background()
	typed := func(err error) bool {
		return err == nil || errors.Is(err, k.Errors.NotFound) || errors.Is(err, k.Errors.Contention)
	}
	for round := range 3 {
		id := fmt.Sprintf("id%d", round)
		if _, err := s.Create(ctx, k.Valid(t, id)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 6 {
			wg.Go(func() {
				for j := range 4 {
					_, _, _, err := s.Update(ctx, id, func(v *T) error {
						k.Vary(v, i, j)
						return nil
					})
					if !typed(err) {
						errs <- fmt.Errorf("update: %w", err)
						return
					}
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				if _, err := s.Delete(ctx, id); !typed(err) {
					errs <- fmt.Errorf("delete: %w", err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if _, err := s.Delete(ctx, id); err != nil && !errors.Is(err, k.Errors.NotFound) {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, id); !errors.Is(err, k.Errors.NotFound) {
			t.Fatalf("after delete: %v", err)
		}
	}
}
