package hookkv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/policy/hookrec"
	"github.com/rosterhq/roster/services/internal/wait"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// ViewConfig configures a View.
type ViewConfig struct {
	// JS reads the bucket. The view never creates it: roster-groups, its
	// reader, may only read (deploy/accounts.conf).
	JS jetstream.JetStream
	// Keys opens sealed secrets (the webhook secret keyring).
	Keys *endpoint.Keyring
	Log  zerolog.Logger
	// Clock paces the retries (default the real clock).
	Clock clockwork.Clock
	// Retry is how long the view waits before it looks for a missing
	// bucket again or watches again after the watch ended (default 1s).
	Retry time.Duration
	// Check is how often the view confirms that the bucket it watches
	// still exists and is the same one (default 5s): a KV watch does not
	// notice its bucket deleted, and would serve the deleted hooks
	// forever.
	Check time.Duration
}

// View is the hooks of ROSTER_POLICY_HOOKS in memory, kept current by a
// KV watch, as the caller of hooks reads them on every command: a lookup
// is one atomic load, never I/O. Safe for concurrent use.
type View struct {
	cfg ViewConfig
	// snap is the current snapshot; replaced whole on every change.
	snap  atomic.Pointer[snapshot]
	ready atomic.Bool

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
}

// snapshot is one immutable state of the view.
type snapshot struct {
	rev       uint64
	hooks     map[string]hook.Hook   // by id
	byCommand map[string][]hook.Hook // call order
	// broken counts records whose secrets did not open (kept without
	// secrets, see ForCommand).
	broken int
}

// NewView returns an empty, not yet ready view; Run fills it.
func NewView(cfg ViewConfig) *View {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	if cfg.Check <= 0 {
		cfg.Check = 5 * time.Second
	}
	v := &View{cfg: cfg, changed: make(chan struct{})}
	v.snap.Store(build(0, map[string]hook.Hook{}, 0))
	return v
}

func build(rev uint64, hooks map[string]hook.Hook, broken int) *snapshot {
	s := &snapshot{rev: rev, hooks: hooks, byCommand: map[string][]hook.Hook{}, broken: broken}
	for _, h := range hooks {
		s.byCommand[h.Command] = append(s.byCommand[h.Command], h)
	}
	for _, hs := range s.byCommand {
		slices.SortFunc(hs, hookrec.Less)
	}
	return s
}

// ForCommand returns the hooks guarding command in call order (creation
// time, then id), secrets opened. The hooks share memory with the view:
// callers must not modify them. A hook whose secret did not open (no key,
// or a key since dropped) is returned without secrets, so its call fails
// and its on_failure applies, rather than the command running unguarded.
func (v *View) ForCommand(command string) []hook.Hook {
	return slices.Clone(v.snap.Load().byCommand[command])
}

// Get returns one hook (tests and diagnostics).
func (v *View) Get(id string) (hook.Hook, bool) {
	h, ok := v.snap.Load().hooks[id]
	return h, ok
}

// Ready reports whether the view holds the bucket's state: the watch has
// delivered every hook stored when it started, or the bucket does not
// exist (no hook was ever created, so none guards anything).
func (v *View) Ready() bool { return v.ready.Load() }

// Broken is the number of hooks whose secrets did not open.
func (v *View) Broken() int { return v.snap.Load().broken }

// Run watches the bucket until ctx ends. A missing bucket, or a watch
// that ends, is looked at again after Retry; the view keeps its last
// state meanwhile. It returns nil when ctx ends.
func (v *View) Run(ctx context.Context) error {
	for {
		err := v.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			v.ready.Store(true)
			v.publish(build(0, map[string]hook.Hook{}, 0))
		} else {
			v.cfg.Log.Warn().Err(err).Dur("retry_in", v.cfg.Retry).Msg("policy hook watch ended")
		}
		if wait.For(ctx, v.cfg.Clock, v.cfg.Retry) != nil {
			return nil
		}
	}
}

// watch runs one KV watch: the initial values are gathered into a fresh
// state that replaces the old one whole once complete, so a re-watch
// never shows a partial set of hooks; later updates apply one by one.
func (v *View) watch(ctx context.Context) error {
	kv, err := v.cfg.JS.KeyValue(ctx, hookrec.Bucket)
	if err != nil {
		return err
	}
	created, err := v.bucketCreated(ctx)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", hookrec.Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	check := v.cfg.Clock.NewTicker(v.cfg.Check)
	defer check.Stop()
	var (
		rev     uint64
		hooks   = map[string]hook.Hook{}
		broken  = map[string]bool{}
		initial = true
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-check.Chan():
			now, err := v.bucketCreated(ctx)
			if err != nil {
				return err // ErrBucketNotFound empties the view
			}
			if !now.Equal(created) {
				return fmt.Errorf("%s was deleted and created again", hookrec.Bucket)
			}
		case entry, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: closed", hookrec.Bucket)
			}
			if entry == nil { // every stored hook delivered
				initial = false
				v.ready.Store(true)
				v.publish(build(rev, maps(hooks), len(broken)))
				continue
			}
			rev = max(rev, entry.Revision())
			v.apply(entry, hooks, broken)
			if !initial {
				v.publish(build(rev, maps(hooks), len(broken)))
			}
		}
	}
}

// bucketCreated is when the bucket's stream was created (a bucket deleted
// and created again has another time); ErrBucketNotFound when it is gone.
func (v *View) bucketCreated(ctx context.Context) (time.Time, error) {
	s, err := v.cfg.JS.Stream(ctx, "KV_"+hookrec.Bucket)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return time.Time{}, jetstream.ErrBucketNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", hookrec.Bucket, err)
	}
	return s.CachedInfo().Created, nil
}

// apply folds one watch entry into hooks.
func (v *View) apply(entry jetstream.KeyValueEntry, hooks map[string]hook.Hook, broken map[string]bool) {
	id := entry.Key()
	delete(broken, id)
	if entry.Operation() != jetstream.KeyValuePut {
		delete(hooks, id)
		return
	}
	e, _, err := hookrec.Open(v.cfg.Keys, entry.Value())
	if err == nil {
		hooks[id] = e.Hook
		return
	}
	// Keep the hook without its secrets when only they failed: its calls
	// then fail and its on_failure decides. Undecodable: nothing to keep.
	e, derr := hookrec.OpenWithoutSecrets(entry.Value())
	if derr != nil {
		v.cfg.Log.Error().Err(err).Str("hook_id", id).Msg("policy hook record unreadable; it guards nothing")
		delete(hooks, id)
		return
	}
	v.cfg.Log.Error().Err(err).Str("hook_id", id).Msg("policy hook secret does not open; its calls fail and its on_failure applies")
	e.Hook.Secrets = nil
	hooks[id] = e.Hook
	broken[id] = true
}

func maps(m map[string]hook.Hook) map[string]hook.Hook {
	out := make(map[string]hook.Hook, len(m))
	for k, h := range m {
		out[k] = h
	}
	return out
}

// publish makes s the view's state and wakes the waiters.
func (v *View) publish(s *snapshot) {
	v.snap.Store(s)
	v.mu.Lock()
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
}

// WaitFor blocks until cond holds on the ready view (checked after every
// change) or ctx ends.
func (v *View) WaitFor(ctx context.Context, cond func(rev uint64, get func(string) (hook.Hook, bool)) bool) error {
	for {
		v.mu.Lock()
		ch := v.changed
		v.mu.Unlock()
		s := v.snap.Load()
		if v.ready.Load() && cond(s.rev, func(id string) (hook.Hook, bool) { h, ok := s.hooks[id]; return h, ok }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitRevision blocks until the view has seen the bucket's revision rev.
func (v *View) WaitRevision(ctx context.Context, rev uint64) error {
	return v.WaitFor(ctx, func(have uint64, _ func(string) (hook.Hook, bool)) bool { return have >= rev })
}

// WaitGone blocks until the view no longer holds id.
func (v *View) WaitGone(ctx context.Context, id string) error {
	return v.WaitFor(ctx, func(_ uint64, get func(string) (hook.Hook, bool)) bool { _, ok := get(id); return !ok })
}
