package app

import (
	"container/list"
	"sync"
)

// cache keeps the most recently used groups' aggregates hot, and
// serialises work on one group inside this process (lock). Across
// processes the OCC check on append keeps groups correct.
type cache struct {
	// locks holds one lock per group some request holds or waits for, so
	// commands on different groups never wait for each other (a command
	// holds its group's lock across its append, until the ack: with locks
	// shared by groups hashing alike, an unrelated group's ack was waited
	// for). An entry lives while it has holders or waiters.
	locksMu sync.Mutex
	locks   map[string]*groupLock

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, front = most recent
	index map[string]*list.Element
	max   int
}

// groupLock is one group's lock; refs counts its holder and waiters
// (guarded by cache.locksMu).
type groupLock struct {
	mu   sync.Mutex
	refs int
}

type cacheEntry struct {
	id  string
	agg *Aggregate
}

func newCache(max int) *cache {
	return &cache{locks: map[string]*groupLock{}, lru: list.New(), index: map[string]*list.Element{}, max: max}
}

// lock takes the group's lock and returns its unlock.
func (c *cache) lock(id string) func() {
	c.locksMu.Lock()
	l := c.locks[id]
	if l == nil {
		l = &groupLock{}
		c.locks[id] = l
	}
	l.refs++
	c.locksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.locksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.locks, id)
		}
		c.locksMu.Unlock()
	}
}

func (c *cache) get(id string) *Aggregate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[id]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).agg
	}
	return nil
}

func (c *cache) put(id string, a *Aggregate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[id]; ok {
		el.Value.(*cacheEntry).agg = a
		c.lru.MoveToFront(el)
		return
	}
	c.index[id] = c.lru.PushFront(&cacheEntry{id: id, agg: a})
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.index, old.Value.(*cacheEntry).id)
	}
}

func (c *cache) evict(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[id]; ok {
		c.lru.Remove(el)
		delete(c.index, id)
	}
}
