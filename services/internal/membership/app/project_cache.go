package app

import (
	"container/list"

	"github.com/rosterhq/roster/events/group"
)

// hot is a group the projector has folded recently: its state, and what it
// knows about the group's info key so it can write it with a CAS.
type hot struct {
	state      *group.State
	infoRev    uint64 // revision of g.<group> in the bucket; 0: not written yet
	appliedSeq uint64
	firstSeq   uint64
	elem       *list.Element
	w          int // weight accounted in the cache
}

// stateCache keeps hot group states, bounded by the total number of members
// held (a 100,000-member group weighs 100,000). It is used by one goroutine.
type stateCache struct {
	maxMembers int
	members    int
	byID       map[string]*hot
	lru        *list.List // front: most recently used; values are group ids
	// onTrim, when set, learns each group trim drops (the rebuild's bulk
	// phase must read such a group back from the model if it changes again).
	onTrim func(id string)
}

func newStateCache(maxMembers int) *stateCache {
	return &stateCache{maxMembers: maxMembers, byID: map[string]*hot{}, lru: list.New()}
}

func (c *stateCache) get(id string) *hot {
	h := c.byID[id]
	if h != nil {
		c.lru.MoveToFront(h.elem)
	}
	return h
}

func weight(h *hot) int { return len(h.state.Members) + 1 }

func (c *stateCache) put(id string, h *hot) {
	c.evict(id)
	h.elem = c.lru.PushFront(id)
	c.byID[id] = h
	h.w = weight(h)
	c.members += h.w
}

// resize accounts for a group whose member count changed by folding.
func (c *stateCache) resize(h *hot) {
	c.members += weight(h) - h.w
	h.w = weight(h)
}

// trim drops the least recently used groups until the cache fits, but never
// the ones in keep (the groups of the batch being written).
func (c *stateCache) trim(keep map[string]bool) {
	for e := c.lru.Back(); e != nil && c.members > c.maxMembers; {
		prev := e.Prev()
		if id := e.Value.(string); !keep[id] {
			c.evict(id)
			if c.onTrim != nil {
				c.onTrim(id)
			}
		}
		e = prev
	}
}

func (c *stateCache) evict(id string) {
	if h := c.byID[id]; h != nil {
		c.members -= h.w
		c.lru.Remove(h.elem)
		delete(c.byID, id)
	}
}

func (c *stateCache) len() int { return len(c.byID) }
