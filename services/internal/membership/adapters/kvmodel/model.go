package kvmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/membership/app"
)

// Model is one generation's bucket: it implements app.ReadModel. Reads and
// watches are safe for concurrent use; the writes are made by one
// goroutine (the projector).
type Model struct {
	gen    uint64
	bucket string
	pre    string // "$KV.<bucket>." : the subject prefix of its keys
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	clock  clockwork.Clock

	mu     sync.Mutex
	stream jetstream.Stream // the bucket's stream, for scans; opened once

	waits *infoWaits
}

var _ app.ReadModel = (*Model)(nil)

// Options tune a Model.
type Options struct {
	// Store creates the bucket when Create is used.
	Store StoreConfig
	// Clock times the writes' ack deadline (default the real clock).
	Clock clockwork.Clock
	// WatchBase is the context the shared min_version watch lives in (it
	// is shared, so no one query's context may end it); default
	// context.Background().
	WatchBase context.Context
}

// Open opens generation g's existing bucket (queries).
func Open(ctx context.Context, js jetstream.JetStream, g Generation, o Options) (*Model, error) {
	kv, err := js.KeyValue(ctx, g.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", g.Bucket, err)
	}
	return newModel(g.Number, js, kv, o), nil
}

// Create opens generation gen's bucket, creating it when missing
// (projector, rebuild).
func Create(ctx context.Context, js jetstream.JetStream, gen uint64, o Options) (*Model, error) {
	o.Store.SetDefaults()
	kv, err := openGenerationKV(ctx, js, gen, o.Store)
	if err != nil {
		return nil, err
	}
	return newModel(gen, js, kv, o), nil
}

func newModel(gen uint64, js jetstream.JetStream, kv jetstream.KeyValue, o Options) *Model {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.WatchBase == nil {
		o.WatchBase = context.Background()
	}
	m := &Model{gen: gen, bucket: kv.Bucket(), pre: "$KV." + kv.Bucket() + ".", js: js, kv: kv, clock: o.Clock}
	m.waits = newInfoWaits(o.WatchBase, m)
	return m
}

// Generation is the generation number m holds.
func (m *Model) Generation() uint64 { return m.gen }

// Bucket is m's bucket name.
func (m *Model) Bucket() string { return m.bucket }

func (m *Model) kvStream(ctx context.Context) (jetstream.Stream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stream == nil {
		s, err := m.js.Stream(ctx, "KV_"+m.bucket)
		if err != nil {
			return nil, err
		}
		m.stream = s
	}
	return m.stream, nil
}

// GroupInfo reads a group's info and the revision of its key (0 when
// absent, together with events.ErrNotFound).
func (m *Model) GroupInfo(ctx context.Context, groupID string) (GroupInfo, uint64, error) {
	e, err := m.kv.Get(ctx, infoKey(groupID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return GroupInfo{}, 0, events.Errorf(events.CodeNotFound, "group %q does not exist", groupID)
	}
	if err != nil {
		return GroupInfo{}, 0, fmt.Errorf("read group %s: %w", groupID, err)
	}
	var gi GroupInfo
	if err := json.Unmarshal(e.Value(), &gi); err != nil {
		return GroupInfo{}, 0, fmt.Errorf("decode group %s: %w", groupID, err)
	}
	return gi, e.Revision(), nil
}

// Member reads one member.
func (m *Model) Member(ctx context.Context, groupID, userID string) (Member, error) {
	e, err := m.kv.Get(ctx, memberKey(groupID, userID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Member{}, events.Errorf(events.CodeNotFound, "%q is not a member of group %q", userID, groupID)
	}
	if err != nil {
		return Member{}, fmt.Errorf("read member %s of %s: %w", userID, groupID, err)
	}
	var mb Member
	if err := json.Unmarshal(e.Value(), &mb); err != nil {
		return Member{}, fmt.Errorf("decode member %s of %s: %w", userID, groupID, err)
	}
	return mb, nil
}

// Members visits the group's members in bucket-stream order; positions are
// bucket stream sequences.
func (m *Model) Members(ctx context.Context, groupID string, after uint64, limit int, keep func(Member) bool) (uint64, bool, error) {
	return m.Scan(ctx, memberPrefix(groupID), after, limit, func(key string, val []byte) (bool, error) {
		var mb Member
		if err := json.Unmarshal(val, &mb); err != nil {
			return false, fmt.Errorf("decode %s: %w", key, err)
		}
		return keep(mb), nil
	})
}

// UserGroups visits a user's index records as Members does.
func (m *Model) UserGroups(ctx context.Context, userID string, after uint64, limit int, keep func(UserGroup) bool) (uint64, bool, error) {
	return m.Scan(ctx, userPrefix(userID), after, limit, func(key string, val []byte) (bool, error) {
		var ug UserGroup
		if err := json.Unmarshal(val, &ug); err != nil {
			return false, fmt.Errorf("decode %s: %w", key, err)
		}
		return keep(ug), nil
	})
}

// WatchInfo registers a min_version wait on the generation's shared info
// watch (waits.go).
func (m *Model) WatchInfo(groupID string, min uint64) (app.InfoWatch, error) {
	return m.waits.register(groupID, min)
}

// Waiters reports the registered waits and whether the shared watch runs
// (tests and metrics).
func (m *Model) Waiters() (n int, watching bool) {
	m.waits.mu.Lock()
	defer m.waits.mu.Unlock()
	return m.waits.n, m.waits.watch != nil
}

// Dump reads every live key and value of the bucket (tests and tools).
func (m *Model) Dump(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	_, _, err := m.Scan(ctx, "", 0, -1, func(k string, v []byte) (bool, error) {
		out[k] = string(v)
		return true, nil
	})
	return out, err
}
