package kvmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// infoWaits lets every query waiting for min_version on one generation share
// a single KV watch of the info keys ("g.*", updates only), instead of one
// watch (a JetStream consumer) per waiting query: hundreds of parked waits
// then cost the server one consumer, not hundreds of consumer creations that
// every plain query's read would queue behind. The watch runs while some
// query waits and is stopped when the last one leaves.
type infoWaits struct {
	m *Model
	// base outlives every query: the watch is shared, so no one query's
	// context may end it (nats.go unsubscribes when the context ends).
	base context.Context

	mu      sync.Mutex
	watch   jetstream.KeyWatcher
	stop    context.CancelFunc
	waiters map[string]map[*infoWaiter]struct{} // group id → its waiters
	n       int
}

// infoWaiter is one query waiting for a group to reach a version.
type infoWaiter struct {
	w       *infoWaits
	groupID string
	min     uint64
	reached chan GroupInfo // buffered 1: the first info at or past min
}

func (wt *infoWaiter) Reached() <-chan GroupInfo { return wt.reached }
func (wt *infoWaiter) Stop()                     { wt.w.unregister(wt) }

func newInfoWaits(base context.Context, m *Model) *infoWaits {
	return &infoWaits{m: m, base: base, waiters: map[string]map[*infoWaiter]struct{}{}}
}

// register adds a waiter, starting the shared watch if none runs. Once it
// returns, every later update of the group's info reaches the waiter, so a
// read made after register cannot miss an update: it sees it, or the waiter
// gets it.
func (w *infoWaits) register(groupID string, min uint64) (*infoWaiter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watch == nil {
		ctx, cancel := context.WithCancel(w.base)
		kw, err := w.m.kv.Watch(ctx, "g.*", jetstream.UpdatesOnly())
		if err != nil {
			cancel()
			return nil, fmt.Errorf("watch group infos: %w", err)
		}
		w.watch, w.stop = kw, cancel
		go w.dispatch(kw)
	}
	wt := &infoWaiter{w: w, groupID: groupID, min: min, reached: make(chan GroupInfo, 1)}
	set := w.waiters[groupID]
	if set == nil {
		set = map[*infoWaiter]struct{}{}
		w.waiters[groupID] = set
	}
	set[wt] = struct{}{}
	w.n++
	return wt, nil
}

// unregister removes a waiter (whether or not it was answered) and stops
// the watch when it was the last.
func (w *infoWaits) unregister(wt *infoWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if set, ok := w.waiters[wt.groupID]; ok {
		if _, ok := set[wt]; ok {
			delete(set, wt)
			w.n--
		}
		if len(set) == 0 {
			delete(w.waiters, wt.groupID)
		}
	}
	if w.n == 0 && w.watch != nil {
		_ = w.watch.Stop()
		w.stop()
		w.watch, w.stop = nil, nil
	}
}

// dispatch hands each info update to the group's waiters it satisfies. It
// ends when its watch is stopped.
func (w *infoWaits) dispatch(kw jetstream.KeyWatcher) {
	for e := range kw.Updates() {
		if e == nil || e.Operation() != jetstream.KeyValuePut {
			continue
		}
		groupID, ok := strings.CutPrefix(e.Key(), "g.")
		if !ok {
			continue
		}
		var gi GroupInfo
		if err := json.Unmarshal(e.Value(), &gi); err != nil {
			continue // the waiter's own read reports a bad value
		}
		w.mu.Lock()
		for wt := range w.waiters[groupID] {
			if gi.Version >= wt.min {
				select {
				case wt.reached <- gi:
				default:
				}
			}
		}
		w.mu.Unlock()
	}
}
