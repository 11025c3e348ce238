// Package recordertest is the contract of the Recorder port services write
// the trail through (record.Recorder), Watermill pubsub/tests style: one
// Run every implementation passes (the ROSTER_AUDIT publisher in package
// audit's tests, the in-memory recorder in adapters/memory).
//
// What callers rely on: a RecordDurable that returned nil is stored
// already; a Record that returned nil is stored soon after without more
// calls; a record id is stored once however often it is recorded (the
// retry after a lost ack); nil records are ignored; concurrent use is safe.
package recordertest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// Stored lists the record ids the implementation holds now, one entry per
// stored copy (so a duplicate shows twice).
type Stored func(ctx context.Context) ([]string, error)

// Factory returns a running recorder of the test's own and a way to see
// what it stored; it cleans up with t.Cleanup.
type Factory func(t *testing.T) (record.Recorder, Stored)

var cases = []struct {
	name string
	fn   func(t *testing.T, r record.Recorder, stored Stored)
}{
	{"RecordDurableIsStoredOnReturn", testDurable},
	{"RecordIsStoredSoon", testRecord},
	{"SameIDStoredOnce", testSameID},
	{"NilRecordIgnored", testNil},
	{"ConcurrentUse", testConcurrent},
}

// Run runs every case against a fresh recorder from factory.
func Run(t *testing.T, factory Factory) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, stored := factory(t)
			tc.fn(t, r, stored)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func change(id string) record.EndpointChange {
	return record.EndpointChange{ID: id, EndpointID: "ep", Change: "updated", Actor: "admin",
		At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func have(t *testing.T, stored Stored) []string {
	t.Helper()
	ids, err := stored(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func waitStored(t *testing.T, stored Stored, want int) []string {
	t.Helper()
	var ids []string
	natstest.Eventually(t, 10*time.Second, func() error {
		var err error
		if ids, err = stored(ctx(t)); err != nil {
			return err
		}
		if len(ids) != want {
			return fmt.Errorf("want %d records stored, have %d", want, len(ids))
		}
		return nil
	})
	sort.Strings(ids)
	return ids
}

func testDurable(t *testing.T, r record.Recorder, stored Stored) {
	if err := r.RecordDurable(ctx(t), change("d-1")); err != nil {
		t.Fatal(err)
	}
	if ids := have(t, stored); len(ids) != 1 || ids[0] != "d-1" {
		t.Fatalf("right after RecordDurable: want [d-1] stored, have %v", ids)
	}
}

func testRecord(t *testing.T, r record.Recorder, stored Stored) {
	for i := range 3 {
		if err := r.Record(ctx(t), change(fmt.Sprintf("r-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if ids := waitStored(t, stored, 3); fmt.Sprint(ids) != "[r-0 r-1 r-2]" {
		t.Fatalf("want [r-0 r-1 r-2], have %v", ids)
	}
}

func testSameID(t *testing.T, r record.Recorder, stored Stored) {
	for range 2 {
		if err := r.RecordDurable(ctx(t), change("same")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Record(ctx(t), change("same")); err != nil {
		t.Fatal(err)
	}
	// A buffered marker recorded after the buffered copy: once it is
	// stored, the copy has usually been published too (a buffer drains in
	// order, though publishes overlap); whenever it lands, it must not add
	// a second "same".
	if err := r.Record(ctx(t), change("marker")); err != nil {
		t.Fatal(err)
	}
	ids := waitStored(t, stored, 2)
	if fmt.Sprint(ids) != "[marker same]" {
		t.Fatalf("want [marker same], have %v", ids)
	}
}

func testNil(t *testing.T, r record.Recorder, stored Stored) {
	if err := r.Record(ctx(t), nil); err != nil {
		t.Fatalf("Record(nil): %v", err)
	}
	if err := r.RecordDurable(ctx(t), nil); err != nil {
		t.Fatalf("RecordDurable(nil): %v", err)
	}
	if err := r.RecordDurable(ctx(t), change("after-nil")); err != nil {
		t.Fatal(err)
	}
	if ids := have(t, stored); fmt.Sprint(ids) != "[after-nil]" {
		t.Fatalf("want only [after-nil], have %v", ids)
	}
}

func testConcurrent(t *testing.T, r record.Recorder, stored Stored) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := change(fmt.Sprintf("c-%d-%d", w, i))
				var err error
				if i%2 == 0 {
					err = r.Record(context.Background(), rec)
				} else {
					err = r.RecordDurable(context.Background(), rec)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitStored(t, stored, writers*each)
}
