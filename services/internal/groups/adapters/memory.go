package adapters

import (
	"context"
	"sync"

	"github.com/rosterhq/roster/services/internal/groups/app"
)

// MemorySnapshots keeps snapshots in this process's memory, for fast tests
// of the app layer. It stores deep copies, so neither side shares mutable
// state.
type MemorySnapshots struct {
	mu    sync.Mutex
	snaps map[string]*app.Aggregate
}

var _ app.SnapshotStore = (*MemorySnapshots)(nil)

// NewMemorySnapshots returns an empty store.
func NewMemorySnapshots() *MemorySnapshots {
	return &MemorySnapshots{snaps: map[string]*app.Aggregate{}}
}

// Get implements app.SnapshotStore.
func (m *MemorySnapshots) Get(ctx context.Context, groupID string) (*app.Aggregate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.snaps[groupID]
	if !ok {
		return nil, app.ErrNoSnapshot
	}
	return a.Clone(), nil
}

// Put implements app.SnapshotStore.
func (m *MemorySnapshots) Put(ctx context.Context, a *app.Aggregate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := a.Clone()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snaps[c.State.ID] = c
	return nil
}
