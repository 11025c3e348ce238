package adapters_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups/adapters"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/groups/app/snapshottest"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

func TestObjectSnapshotsContract(t *testing.T) {
	srv := natstest.Start(t)
	snaps, err := adapters.ProvisionSnapshots(context.Background(), srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	snapshottest.Run(t, func(*testing.T) app.SnapshotStore { return snaps })
}

func TestMemorySnapshotsContract(t *testing.T) {
	snapshottest.Run(t, func(*testing.T) app.SnapshotStore { return adapters.NewMemorySnapshots() })
}

// A snapshot that is not one (corrupt bytes, or another encoding) is
// refused as unusable, never as missing and never half read: the
// repository then loads the group from its events.
func TestObjectSnapshotsRefuseUnusable(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	snaps, err := adapters.ProvisionSnapshots(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	os, err := srv.JS.ObjectStore(ctx, adapters.SnapshotBucket)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"garbage": []byte("not s2 at all"), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			if _, err := os.PutBytes(ctx, name, data); err != nil {
				t.Fatal(err)
			}
			a, err := snaps.Get(ctx, name)
			if !errors.Is(err, adapters.ErrUnusableSnapshot) || a != nil {
				t.Fatalf("want ErrUnusableSnapshot, have %v (%v)", err, a)
			}
		})
	}
	// Provisioning again opens the same bucket.
	again, err := adapters.ProvisionSnapshots(ctx, srv.JS, eventstore.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get(ctx, "garbage"); !errors.Is(err, adapters.ErrUnusableSnapshot) {
		t.Fatalf("reprovisioned bucket: want the same object, have %v", err)
	}
}
