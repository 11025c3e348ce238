package groups

import (
	"bytes"
	"container/list"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
)

// SnapshotBucket is the object store holding group snapshots.
const SnapshotBucket = "ROSTER_SNAPSHOTS"

// snapshotFormat versions the snapshot encoding; a snapshot of another
// format is ignored and the group is rebuilt from its events.
const snapshotFormat = 1

// EventStore is what the command side needs from the event store
// (eventstore.Store on JetStream implements it; eventstore/storetest is its
// contract). Load answers with what the stream leader holds, so a command
// is never rejected on a lagging replica's copy.
type EventStore interface {
	// Append stores c if its group's last commit is still at expectedSeq
	// (0: none); eventstore.ErrConflict otherwise.
	Append(ctx context.Context, c events.Commit, expectedSeq uint64, opts ...eventstore.AppendOption) (eventstore.AppendResult, error)
	// Load calls fn with each commit of the group after afterSeq, in order,
	// and returns the sequence of the last one.
	Load(ctx context.Context, groupID string, afterSeq uint64, fn func(eventstore.Stored) error) (uint64, error)
	// Get reads the commit stored at seq (a duplicate's original reply).
	Get(ctx context.Context, seq uint64) (eventstore.Stored, error)
}

// repository loads aggregates (hot cache, else snapshot + tail of events),
// and serialises work on one group inside this process. Across processes,
// the OCC check on append keeps groups correct.
type repository struct {
	store       EventStore
	snaps       jetstream.ObjectStore // nil: snapshots off
	log         zerolog.Logger
	maxCommands int
	snapEvery   uint64

	locks [256]sync.Mutex

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, front = most recent
	index map[string]*list.Element
	max   int

	snapWG sync.WaitGroup
}

type cacheEntry struct {
	id  string
	agg *aggregate
}

func (r *repository) lock(id string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	m := &r.locks[h.Sum32()%uint32(len(r.locks))]
	m.Lock()
	return m.Unlock
}

func (r *repository) cached(id string) *aggregate {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.index[id]; ok {
		r.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).agg
	}
	return nil
}

func (r *repository) put(id string, a *aggregate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.index[id]; ok {
		el.Value.(*cacheEntry).agg = a
		r.lru.MoveToFront(el)
		return
	}
	r.index[id] = r.lru.PushFront(&cacheEntry{id: id, agg: a})
	for r.lru.Len() > r.max {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.index, old.Value.(*cacheEntry).id)
	}
}

func (r *repository) evict(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.index[id]; ok {
		r.lru.Remove(el)
		delete(r.index, id)
	}
}

// get returns the group's aggregate, loading it when it is not hot. The
// caller holds the group's lock. hot reports a cache hit.
func (r *repository) get(ctx context.Context, id string) (a *aggregate, hot bool, err error) {
	if a := r.cached(id); a != nil {
		return a, true, nil
	}
	a, err = r.load(ctx, id)
	if err != nil {
		return nil, false, err
	}
	r.put(id, a)
	return a, false, nil
}

// load builds an aggregate from its snapshot (if any) and the events after it.
func (r *repository) load(ctx context.Context, id string) (*aggregate, error) {
	a := r.readSnapshot(ctx, id)
	if a == nil {
		a = newAggregate(id)
	}
	if err := r.catchUp(ctx, a); err != nil {
		return nil, err
	}
	if a.State.Version-a.SnapshotVersion >= r.snapEvery {
		r.snapshot(a)
	}
	return a, nil
}

// catchUp folds the commits stored after a.Seq into a.
func (r *repository) catchUp(ctx context.Context, a *aggregate) error {
	_, err := r.store.Load(ctx, a.State.ID, a.Seq, func(s eventstore.Stored) error {
		LoadedEvents.Add(float64(len(s.Commit.Events)))
		return a.apply(s.Seq, s.Commit, r.maxCommands)
	})
	if err != nil {
		return fmt.Errorf("load group %s: %w", a.State.ID, err)
	}
	return nil
}

type snapshotFile struct {
	Format int
	Agg    aggregate
}

// readSnapshot returns the group's snapshot, or nil when there is none or
// it cannot be used (it is only an optimisation: events are the truth).
func (r *repository) readSnapshot(ctx context.Context, id string) *aggregate {
	if r.snaps == nil {
		return nil
	}
	data, err := r.snaps.GetBytes(ctx, id)
	if err != nil {
		if !errors.Is(err, jetstream.ErrObjectNotFound) {
			r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot unreadable; loading from events")
		}
		return nil
	}
	raw, err := s2.Decode(nil, data)
	if err != nil {
		r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot corrupt; loading from events")
		return nil
	}
	var f snapshotFile
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&f); err != nil || f.Format != snapshotFormat || f.Agg.State == nil {
		r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot of another format; loading from events")
		return nil
	}
	a := f.Agg
	if a.Commands == nil {
		a.Commands = map[string]commandRecord{}
	}
	if a.State.Members == nil {
		a.State.Members = newAggregate(id).State.Members
	}
	if a.State.Pending == nil {
		a.State.Pending = newAggregate(id).State.Pending
	}
	return &a
}

// snapshot encodes a now (the caller holds the group's lock) and writes it
// in the background. A lost snapshot costs only a longer cold load.
func (r *repository) snapshot(a *aggregate) {
	if r.snaps == nil {
		return
	}
	// The snapshot records its own version: a process that loads it must
	// see that it is current, or it would write the same snapshot again on
	// every cold load (a full encode of the group on the command's path).
	a.SnapshotVersion = a.State.Version
	// Copy under the group's lock (a few ms for 100,000 members), encode
	// and write off it (the encode is several times the copy), so commands
	// on a large group do not stall behind its snapshot.
	c := a.clone()
	id, version := c.State.ID, c.State.Version
	r.snapWG.Add(1)
	go func() {
		defer r.snapWG.Done()
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(snapshotFile{Format: snapshotFormat, Agg: *c}); err != nil {
			r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot encode failed")
			return
		}
		data := s2.EncodeBetter(nil, buf.Bytes())
		ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
		defer cancel()
		if _, err := r.snaps.PutBytes(ctx, id, data); err != nil {
			r.log.Warn().Err(err).Str("group_id", id).Msg("snapshot write failed")
			return
		}
		r.log.Debug().Str("group_id", id).Uint64("version", version).Int("bytes", len(data)).Msg("snapshot written")
	}()
}
