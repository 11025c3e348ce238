package app

import (
	"container/list"
	"hash/fnv"
	"sync"
)

// cache keeps the most recently used groups' aggregates hot, and
// serialises work on one group inside this process (lock). Across
// processes the OCC check on append keeps groups correct.
type cache struct {
	locks [256]sync.Mutex

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, front = most recent
	index map[string]*list.Element
	max   int
}

type cacheEntry struct {
	id  string
	agg *Aggregate
}

func newCache(max int) *cache {
	return &cache{lru: list.New(), index: map[string]*list.Element{}, max: max}
}

// lock takes the group's lock (shared by the groups hashing alike) and
// returns its unlock.
func (c *cache) lock(id string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	m := &c.locks[h.Sum32()%uint32(len(c.locks))]
	m.Lock()
	return m.Unlock
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
