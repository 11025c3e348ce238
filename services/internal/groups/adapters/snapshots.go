package adapters

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

// SnapshotBucket is the object store holding group snapshots.
const SnapshotBucket = "ROSTER_SNAPSHOTS"

// snapshotFormat versions the snapshot encoding; a snapshot of another
// format is refused and the group is rebuilt from its events. Format 2
// (issue 12) added OpenIM's group and member fields to group.State: a
// format 1 snapshot would read with them empty, though the fold of the
// same events derives some (the creator, the members' join source), so
// it is refused rather than read as if they were unset.
const snapshotFormat = 2

// ErrUnusableSnapshot marks a snapshot that exists but cannot be used
// (corrupt, or of another format).
var ErrUnusableSnapshot = errors.New("unusable snapshot")

// snapshotFile is the stored form: gob (by field name, so the aggregate's
// Go package may move) compressed with s2.
type snapshotFile struct {
	Format int
	Agg    app.Aggregate
}

// ObjectSnapshots keeps snapshots in the JetStream object store
// ROSTER_SNAPSHOTS, one object per group named by its id.
type ObjectSnapshots struct {
	os jetstream.ObjectStore
}

var _ app.SnapshotStore = (*ObjectSnapshots)(nil)

// NewObjectSnapshots stores snapshots in os.
func NewObjectSnapshots(os jetstream.ObjectStore) *ObjectSnapshots { return &ObjectSnapshots{os: os} }

// ProvisionSnapshots opens ROSTER_SNAPSHOTS, creating it (with the storage
// and replicas of ROSTER_EVENTS in sc) when it does not exist.
func ProvisionSnapshots(ctx context.Context, js jetstream.JetStream, sc eventstore.StreamConfig) (*ObjectSnapshots, error) {
	replicas := sc.Replicas
	if replicas == 0 {
		replicas = 1
	}
	storage := jetstream.FileStorage
	if sc.Memory {
		storage = jetstream.MemoryStorage
	}
	os, err := js.ObjectStore(ctx, SnapshotBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		os, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      SnapshotBucket,
			Description: "Roster group snapshots (an optimisation: events are the truth)",
			Storage:     storage,
			Replicas:    replicas,
			Compression: false,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			os, err = js.ObjectStore(ctx, SnapshotBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", SnapshotBucket, err)
	}
	return NewObjectSnapshots(os), nil
}

// Get implements app.SnapshotStore.
func (s *ObjectSnapshots) Get(ctx context.Context, groupID string) (*app.Aggregate, error) {
	data, err := s.os.GetBytes(ctx, groupID)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, app.ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot of %s: %w", groupID, err)
	}
	return decodeSnapshot(groupID, data)
}

// Put implements app.SnapshotStore.
func (s *ObjectSnapshots) Put(ctx context.Context, a *app.Aggregate) error {
	data, err := encodeSnapshot(a)
	if err != nil {
		return err
	}
	if _, err := s.os.PutBytes(ctx, a.State.ID, data); err != nil {
		return fmt.Errorf("write snapshot of %s: %w", a.State.ID, err)
	}
	return nil
}

func encodeSnapshot(a *app.Aggregate) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snapshotFile{Format: snapshotFormat, Agg: *a}); err != nil {
		return nil, fmt.Errorf("encode snapshot of %s: %w", a.State.ID, err)
	}
	return s2.EncodeBetter(nil, buf.Bytes()), nil
}

func decodeSnapshot(groupID string, data []byte) (*app.Aggregate, error) {
	raw, err := s2.Decode(nil, data)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot of %s: %w", ErrUnusableSnapshot, groupID, err)
	}
	var f snapshotFile
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: snapshot of %s: %w", ErrUnusableSnapshot, groupID, err)
	}
	if f.Format != snapshotFormat || f.Agg.State == nil {
		return nil, fmt.Errorf("%w: snapshot of %s has format %d, want %d", ErrUnusableSnapshot, groupID, f.Format, snapshotFormat)
	}
	a := f.Agg
	// gob leaves empty maps out: restore them, as a fresh group has them.
	if a.Commands == nil {
		a.Commands = map[string]app.CommandRecord{}
	}
	fresh := group.New(groupID)
	if a.State.Members == nil {
		a.State.Members = fresh.Members
	}
	if a.State.Pending == nil {
		a.State.Pending = fresh.Pending
	}
	return &a, nil
}
