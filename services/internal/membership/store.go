package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
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
var ErrNoGeneration = errors.New("the membership projection has no active generation yet (is the projector running?)")

// Generation is the value of the control bucket's "active" key.
type Generation struct {
	Number     uint64    `json:"generation"`
	Bucket     string    `json:"bucket"`
	SwitchedAt time.Time `json:"switched_at"`
}

// StoreConfig is what an operator chooses about the projection's buckets.
type StoreConfig struct {
	// Replicas of every bucket: 1 in dev, 3 in a cluster.
	Replicas int
	// Memory keeps the read model in memory (tests and benchmarks; a restart
	// then means a rebuild).
	Memory bool
}

func (c *StoreConfig) setDefaults() {
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

func openControl(ctx context.Context, js jetstream.JetStream, cfg StoreConfig) (jetstream.KeyValue, error) {
	return openOrCreateKV(ctx, js, ControlBucket, "Roster membership projection: active generation pointer", cfg)
}

func openGeneration(ctx context.Context, js jetstream.JetStream, gen uint64, cfg StoreConfig) (jetstream.KeyValue, error) {
	return openOrCreateKV(ctx, js, BucketName(gen), fmt.Sprintf("Roster membership read model, generation %d", gen), cfg)
}

// readActive returns the active generation and the revision of its key.
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

// ensureActive returns the active generation, making generation 1 active
// when there is none (the first projector to start wins the race).
func ensureActive(ctx context.Context, js jetstream.JetStream, ctl jetstream.KeyValue, cfg StoreConfig, now time.Time) (Generation, error) {
	g, _, err := readActive(ctx, ctl)
	if !errors.Is(err, ErrNoGeneration) {
		return g, err
	}
	// The bucket before the pointer: whoever reads the pointer can open it.
	if _, err := openGeneration(ctx, js, 1, cfg); err != nil {
		return Generation{}, err
	}
	first := Generation{Number: 1, Bucket: BucketName(1), SwitchedAt: now.UTC()}
	b, err := json.Marshal(first)
	if err != nil {
		return Generation{}, err
	}
	if _, err := ctl.Create(ctx, activeKey, b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return Generation{}, fmt.Errorf("initialise active generation: %w", err)
	}
	g, _, err = readActive(ctx, ctl)
	return g, err
}

// model reads one generation's bucket.
type model struct {
	gen    uint64
	bucket string
	js     jetstream.JetStream
	kv     jetstream.KeyValue

	mu     sync.Mutex
	stream jetstream.Stream // the bucket's stream, for scans; opened once
}

func (m *model) kvStream(ctx context.Context) (jetstream.Stream, error) {
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

func openModel(ctx context.Context, js jetstream.JetStream, g Generation) (*model, error) {
	kv, err := js.KeyValue(ctx, g.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", g.Bucket, err)
	}
	return &model{gen: g.Number, bucket: g.Bucket, js: js, kv: kv}, nil
}

// info reads a group's info and the revision of its key (0 when absent,
// together with events.ErrNotFound).
func (m *model) info(ctx context.Context, groupID string) (GroupInfo, uint64, error) {
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

func (m *model) member(ctx context.Context, groupID, userID string) (Member, error) {
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

// scan visits the live keys under prefix ("" for all) in the order they
// were last written, starting after bucket stream sequence afterSeq. It
// stops after keep has accepted limit entries (limit < 0: no limit) and
// returns the sequence to resume after and whether entries remain.
//
// Why stream order and not key order: a page then costs one consumer and
// limit messages however large the group is, instead of listing every key
// of a 100,000-member group to sort them. A key rewritten while a client
// pages moves to the end, so it can appear twice but is never skipped.
// A scan's first fetch may find no responder in a cluster (see scan); it
// tries again this many times, this far apart.
const (
	scanNoResponderRetries = 40
	scanNoResponderPause   = 25 * time.Millisecond
	// scanEmptyRetries bounds the empty fetches in a row a scan accepts
	// while its consumer still reports pending messages (about 10 s).
	scanEmptyRetries = 400
)

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *model) scan(ctx context.Context, prefix string, afterSeq uint64, limit int, keep func(key string, val []byte) (bool, error)) (uint64, bool, error) {
	stream, err := m.kvStream(ctx)
	if err != nil {
		return afterSeq, false, fmt.Errorf("scan %s: %w", m.bucket, err)
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     "$KV." + m.bucket + "." + prefix + ">",
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	}
	if prefix == "" {
		cfg.FilterSubject = "$KV." + m.bucket + ".>"
	}
	if afterSeq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, afterSeq+1
	}
	cons, err := stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return afterSeq, false, fmt.Errorf("scan %s: %w", m.bucket, err)
	}
	defer func() {
		// A fresh context: the caller's may be done, and a leaked consumer
		// would otherwise live until its inactivity threshold.
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	// No-wait fetches: a key rewritten during the scan removes its old
	// message (history 1), so a count taken up front can overstate what is
	// left, and a waiting fetch would then sit until its expiry.
	seen, kept, noResponders, empties := afterSeq, 0, 0, 0
	if cons.CachedInfo().NumPending == 0 {
		return seen, false, nil
	}
	for {
		batch, err := cons.FetchNoWait(512)
		if err != nil {
			return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil {
				return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
			}
			seen = meta.Sequence.Stream
			if op := msg.Headers().Get("KV-Operation"); op != "" {
				if meta.NumPending == 0 {
					return seen, false, nil
				}
				continue // a delete or purge marker: the key is gone
			}
			key := strings.TrimPrefix(msg.Subject(), "$KV."+m.bucket+".")
			ok, err := keep(key, msg.Data())
			if err != nil {
				return seen, true, err
			}
			if ok {
				kept++
			}
			if meta.NumPending == 0 {
				return seen, false, nil
			}
			if limit >= 0 && kept >= limit {
				return seen, true, nil
			}
		}
		err = batch.Error()
		if got == 0 && errors.Is(err, nats.ErrNoResponders) && noResponders < scanNoResponderRetries {
			// In a cluster the create reply can reach us before the new
			// consumer's pull subject is known to our server: the first
			// fetch finds no responder. Give the interest a moment.
			noResponders++
			if err := sleepCtx(ctx, scanNoResponderPause); err != nil {
				return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
			}
			continue
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
			return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
		}
		if got == 0 {
			// An empty batch is the end only if the consumer says so: on a
			// loaded server a no-wait fetch can time out or come back empty
			// while messages are pending, and ending there would answer a
			// truncated member list (or rebuild a partial model).
			info, err := cons.Info(ctx)
			if err != nil {
				return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
			}
			if info.NumPending == 0 {
				return seen, false, nil
			}
			if empties++; empties > scanEmptyRetries {
				return seen, true, fmt.Errorf("scan %s: %d messages pending but %d fetches in a row returned none", m.bucket, info.NumPending, empties)
			}
			if err := sleepCtx(ctx, scanNoResponderPause); err != nil {
				return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
			}
			continue
		}
		empties = 0
	}
}
