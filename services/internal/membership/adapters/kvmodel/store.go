package kvmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/services/internal/membership/app"
)

// Names of the projection's NATS objects (public contract: operators see
// them in `nats kv ls` and dashboards).
const (
	// ControlBucket holds the pointer to the active generation and the
	// rebuild lock.
	ControlBucket = "ROSTER_PROJECTION"
	// BucketPrefix + generation number names a generation's read model.
	BucketPrefix = "ROSTER_MEMBERS_v"
	// DurablePrefix + generation number names the durable consumer on
	// ROSTER_EVENTS that feeds that generation.
	DurablePrefix = "roster-projector-v"

	activeKey = "active"
	lockKey   = "rebuild_lock"
)

// BucketName is the KV bucket of generation gen.
func BucketName(gen uint64) string { return BucketPrefix + strconv.FormatUint(gen, 10) }

// DurableName is the durable consumer feeding generation gen.
func DurableName(gen uint64) string { return DurablePrefix + strconv.FormatUint(gen, 10) }

// ErrNoGeneration means no projector has initialised the read model yet.
var ErrNoGeneration = app.ErrNoGeneration

// Generation is the value of the control bucket's "active" key.
type Generation = app.Generation

// StoreConfig is what an operator chooses about the projection's buckets.
type StoreConfig struct {
	// Replicas of every bucket: 1 in dev, 3 in a cluster.
	Replicas int
	// Memory keeps the read model in memory (tests and benchmarks; a restart
	// then means a rebuild).
	Memory bool
}

// SetDefaults fills in what is not set.
func (c *StoreConfig) SetDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
}

// Validate reports every problem with c.
func (c StoreConfig) Validate() error {
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("replicas %d: must be 1..5", c.Replicas)
	}
	return nil
}

func (c StoreConfig) storage() jetstream.StorageType {
	if c.Memory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// openOrCreateKV returns bucket, creating it with cfg when missing.
func openOrCreateKV(ctx context.Context, js jetstream.JetStream, name, desc string, cfg StoreConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, name)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: desc, History: 1, Storage: cfg.storage(), Replicas: cfg.Replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, name) // lost a creation race
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return kv, nil
}

func openGenerationKV(ctx context.Context, js jetstream.JetStream, gen uint64, cfg StoreConfig) (jetstream.KeyValue, error) {
	return openOrCreateKV(ctx, js, BucketName(gen), fmt.Sprintf("Roster membership read model, generation %d", gen), cfg)
}

// Control is the control bucket: the active generation pointer and the
// rebuild lock.
type Control struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	cfg StoreConfig
}

// OpenControl opens the control bucket, creating it when missing.
func OpenControl(ctx context.Context, js jetstream.JetStream, cfg StoreConfig) (*Control, error) {
	cfg.SetDefaults()
	kv, err := openOrCreateKV(ctx, js, ControlBucket, "Roster membership projection: active generation pointer", cfg)
	if err != nil {
		return nil, err
	}
	return &Control{js: js, kv: kv, cfg: cfg}, nil
}

// Active returns the active generation and the revision of its key;
// ErrNoGeneration when there is none.
func (c *Control) Active(ctx context.Context) (Generation, uint64, error) {
	return readActive(ctx, c.kv)
}

func readActive(ctx context.Context, ctl jetstream.KeyValue) (Generation, uint64, error) {
	e, err := ctl.Get(ctx, activeKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Generation{}, 0, ErrNoGeneration
	}
	if err != nil {
		return Generation{}, 0, fmt.Errorf("read active generation: %w", err)
	}
	var g Generation
	if err := json.Unmarshal(e.Value(), &g); err != nil {
		return Generation{}, 0, fmt.Errorf("decode active generation: %w", err)
	}
	return g, e.Revision(), nil
}

// EnsureActive returns the active generation, making generation 1 active
// when there is none (the first projector to start wins the race).
func (c *Control) EnsureActive(ctx context.Context, now time.Time) (Generation, error) {
	g, _, err := c.Active(ctx)
	if !errors.Is(err, ErrNoGeneration) {
		return g, err
	}
	// The bucket before the pointer: whoever reads the pointer can open it.
	if _, err := openGenerationKV(ctx, c.js, 1, c.cfg); err != nil {
		return Generation{}, err
	}
	first := Generation{Number: 1, Bucket: BucketName(1), SwitchedAt: now.UTC()}
	b, err := json.Marshal(first)
	if err != nil {
		return Generation{}, err
	}
	if _, err := c.kv.Create(ctx, activeKey, b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return Generation{}, fmt.Errorf("initialise active generation: %w", err)
	}
	g, _, err = c.Active(ctx)
	return g, err
}

// WatchActive sends each value the active pointer takes (the current one
// first unless updatesOnly) until ctx ends; a value that does not decode
// is sent with its error. The channel closes when the watch ends.
func (c *Control) WatchActive(ctx context.Context, updatesOnly bool) (<-chan ActiveUpdate, error) {
	var opts []jetstream.WatchOpt
	if updatesOnly {
		opts = append(opts, jetstream.UpdatesOnly())
	}
	w, err := c.kv.Watch(ctx, activeKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("watch active generation: %w", err)
	}
	out := make(chan ActiveUpdate)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			var e jetstream.KeyValueEntry
			select {
			case <-ctx.Done():
				return
			case v, ok := <-w.Updates():
				if !ok {
					return
				}
				e = v
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var u ActiveUpdate
			if err := json.Unmarshal(e.Value(), &u.Generation); err != nil {
				u.Err = fmt.Errorf("decode active generation: %w", err)
			}
			select {
			case out <- u:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ActiveUpdate is one value of the active pointer.
type ActiveUpdate struct {
	Generation Generation
	Err        error
}

// Switch points the active key at to, if it still has revision rev.
func (c *Control) Switch(ctx context.Context, to Generation, rev uint64) error {
	b, err := json.Marshal(to)
	if err != nil {
		return err
	}
	if _, err := c.kv.Update(ctx, activeKey, b, rev); err != nil {
		return fmt.Errorf("switch to generation %d (did the active generation change meanwhile?): %w", to.Number, err)
	}
	return nil
}

// RebuildLock is the value of the control bucket's rebuild lock.
type RebuildLock struct {
	Generation uint64    `json:"generation"`
	Host       string    `json:"host"`
	StartedAt  time.Time `json:"started_at"`
}

// ErrLockHeld means another rebuild holds the lock.
var ErrLockHeld = errors.New("rebuild lock held")

// Lock takes the rebuild lock (over a held one when force is set) and
// returns its release.
func (c *Control) Lock(ctx context.Context, l RebuildLock, force bool) (release func(), err error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	if _, err := c.kv.Create(ctx, lockKey, b); errors.Is(err, jetstream.ErrKeyExists) {
		if !force {
			return nil, ErrLockHeld
		}
		if _, err := c.kv.Put(ctx, lockKey, b); err != nil {
			return nil, fmt.Errorf("take rebuild lock: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("take rebuild lock: %w", err)
	}
	return func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.kv.Delete(dctx, lockKey)
	}, nil
}

// DropGeneration deletes generation gen's bucket, if it exists.
func DropGeneration(ctx context.Context, js jetstream.JetStream, gen Generation) error {
	if err := js.DeleteKeyValue(ctx, gen.Bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("drop bucket %s: %w", gen.Bucket, err)
	}
	return nil
}
