package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// Config configures a Projector.
type Config struct {
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Store says how the projection's buckets are created.
	Store StoreConfig
	// BatchSize is how many commits are folded before the model is written
	// and the commits acknowledged together (default 500).
	BatchSize int
	// MaxCachedMembers bounds the hot group states kept in memory, counted
	// in members (default 1,000,000). A group that falls out is reloaded
	// from the read model when it changes again.
	MaxCachedMembers int
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 30s). A crashed projector's commits come back after it.
	AckWait time.Duration
	// RetryDelay delays the redelivery of a commit that could not be
	// applied now (a write failed, or its predecessor is not applied yet).
	RetryDelay time.Duration
	// Now is the clock (default time.Now); only timestamps bookkeeping.
	Now func() time.Time

	// crashAt, when set (tests), is called at each write stage of a batch;
	// an error returned stops the projector on the spot, as a crash would:
	// nothing more is written, nothing acknowledged or nacked.
	crashAt func(stage string) error
}

func (c *Config) setDefaults() {
	c.Store.setDefaults()
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxCachedMembers == 0 {
		c.MaxCachedMembers = 1_000_000
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("batch size %d: must be 1..10000", c.BatchSize))
	}
	if c.MaxCachedMembers < 0 {
		errs = append(errs, errors.New("max cached members must not be negative"))
	}
	if c.AckWait < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("ack wait %s: must be at least 100ms", c.AckWait))
	}
	if c.RetryDelay < 0 {
		errs = append(errs, errors.New("retry delay must not be negative"))
	}
	return errors.Join(errs...)
}

// Projector keeps the active generation of the read model up to date from
// ROSTER_EVENTS. Run one per generation: a second one is safe (the
// applied-sequence guard and the CAS on each group's info key keep the model
// exact) but only wastes work.
type Projector struct {
	cfg   Config
	stats stats
	// projecting: a generation's consumer is running (Ready).
	projecting atomic.Bool
}

// Ready reports whether the projector consumes ROSTER_EVENTS into the
// active generation; false while it starts, restarts after a failure, or
// moves to a new generation.
func (p *Projector) Ready() bool { return p.projecting.Load() }

// Stats is what the projector reports about its progress.
type Stats struct {
	Generation uint64
	// AppliedSeq is the stream sequence of the last commit applied.
	AppliedSeq uint64
	// Pending is how many commits of the stream were not yet delivered to
	// the projector when it last received one: the lag, in commits.
	Pending uint64
	// Commits and Events count what this process applied.
	Commits, Events uint64
	// Redelivered counts commits skipped because already applied.
	Redelivered uint64
	// Failures counts batches or commits that had to be retried.
	Failures uint64
}

type stats struct {
	gen, applied, pending, commits, evs, redelivered, failures atomic.Uint64
}

func (s *stats) snapshot() Stats {
	return Stats{
		Generation: s.gen.Load(), AppliedSeq: s.applied.Load(), Pending: s.pending.Load(),
		Commits: s.commits.Load(), Events: s.evs.Load(), Redelivered: s.redelivered.Load(), Failures: s.failures.Load(),
	}
}

// NewProjector validates cfg.
func NewProjector(cfg Config) (*Projector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("projector config: %w", err)
	}
	return &Projector{cfg: cfg}, nil
}

// Stats returns a snapshot of the projector's progress; safe to call from
// any goroutine (metrics).
func (p *Projector) Stats() Stats { return p.stats.snapshot() }

// Run projects into the active generation until ctx ends. When a rebuild
// switches the active generation, Run moves to the new one, resuming its
// durable consumer where the rebuild left it.
func (p *Projector) Run(ctx context.Context) error {
	log := p.cfg.Log
	for {
		err := p.runActive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSwitched) {
			continue
		}
		if p.cfg.crashAt != nil {
			return err
		}
		log.Error().Err(err).Msg("projector stopped; restarting")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.cfg.RetryDelay):
		}
	}
}

var errSwitched = errors.New("active generation switched")

func (p *Projector) runActive(ctx context.Context) error {
	ctl, err := openControl(ctx, p.cfg.JS, p.cfg.Store)
	if err != nil {
		return err
	}
	gen, err := ensureActive(ctx, p.cfg.JS, ctl, p.cfg.Store, p.cfg.Now())
	if err != nil {
		return err
	}
	w, err := ctl.Watch(ctx, activeKey, jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("watch active generation: %w", err)
	}
	defer func() { _ = w.Stop() }()
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		for e := range w.Updates() {
			var g Generation
			if e != nil && json.Unmarshal(e.Value(), &g) == nil && g.Number != gen.Number {
				cancel(errSwitched)
				return
			}
		}
	}()
	p.cfg.Log.Info().Uint64("generation", gen.Number).Str("bucket", gen.Bucket).Msg("projecting")
	p.projecting.Store(true)
	err = p.runGeneration(gctx, gen, nil, nil)
	p.projecting.Store(false)
	if c := context.Cause(gctx); errors.Is(c, errSwitched) {
		p.cfg.Log.Info().Uint64("from", gen.Number).Msg("active generation switched")
		return errSwitched
	}
	return err
}

// ensureConsumer creates or updates generation gen's durable consumer. A new
// consumer starts at stream sequence start (0 or 1: the first commit); an
// existing one keeps its start (the server refuses to change it; a rebuild
// creates its consumer after the commits it folded in bulk).
func (p *Projector) ensureConsumer(ctx context.Context, gen uint64, start uint64) (jetstream.Consumer, error) {
	var stream jetstream.Stream
	for {
		s, err := p.cfg.JS.Stream(ctx, events.StreamName)
		if err == nil {
			stream = s
			break
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("open %s: %w", events.StreamName, err)
		}
		// The command service provisions the stream; wait for it.
		p.cfg.Log.Warn().Msg(events.StreamName + " does not exist yet; waiting")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       DurableName(gen),
		Description:   fmt.Sprintf("Roster membership projector, generation %d", gen),
		FilterSubject: events.SubjectPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       p.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4 * p.cfg.BatchSize,
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	if c, err := stream.Consumer(ctx, cfg.Durable); err == nil {
		have := c.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("consumer %s: %w", DurableName(gen), err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", DurableName(gen), err)
	}
	return cons, nil
}

// runGeneration folds commits into gen's bucket until ctx ends, or until
// done (when non-nil) reports true after a batch. cache, when non-nil,
// holds group states already folded into gen (by a rebuild's bulk phase).
func (p *Projector) runGeneration(ctx context.Context, gen Generation, done func(Stats) bool, cache *stateCache) error {
	kv, err := openGeneration(ctx, p.cfg.JS, gen.Number, p.cfg.Store)
	if err != nil {
		return err
	}
	cons, err := p.ensureConsumer(ctx, gen.Number, 0)
	if err != nil {
		return err
	}
	if cache == nil {
		cache = newStateCache(p.cfg.MaxCachedMembers)
	}
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	p.stats.gen.Store(gen.Number)
	r := &genRunner{
		p: p, log: p.cfg.Log.With().Uint64("generation", gen.Number).Logger(),
		m:     &model{gen: gen.Number, bucket: kv.Bucket(), js: p.cfg.JS, kv: kv},
		pre:   "$KV." + kv.Bucket() + ".",
		cache: cache,
		hist:  history{stream: stream},
	}
	// A deleted consumer (an operator, or a rebuild's --drop-old) ends this
	// run; the caller starts over, recreating it if it is still wanted.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	in := make(chan jetstream.Msg, 2*p.cfg.BatchSize)
	stop := make(chan struct{})
	defer close(stop)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case in <- m:
		case <-stop:
		}
	}, jetstream.PullMaxMessages(2*p.cfg.BatchSize), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		r.log.Warn().Err(err).Msg("consumer")
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			cancel(fmt.Errorf("consumer %s: %w", DurableName(gen.Number), err))
		}
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", DurableName(gen.Number), err)
	}
	crashed := false
	defer func() {
		cc.Stop()
		if crashed {
			return
		}
		// Hand back what was delivered but not folded, so whoever consumes
		// next gets it now rather than after AckWait.
		for {
			select {
			case m := <-in:
				_ = m.Nak()
			default:
				return
			}
		}
	}()
	for {
		var batch []jetstream.Msg
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case m := <-in:
			batch = append(batch, m)
		}
	drain:
		for len(batch) < p.cfg.BatchSize {
			select {
			case m := <-in:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if err := r.apply(ctx, batch); err != nil {
			var crash *crashError
			if errors.As(err, &crash) {
				crashed = true
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.stats.failures.Add(1)
			r.log.Error().Err(err).Int("commits", len(batch)).Msg("batch not applied; it will be redelivered")
			for _, m := range batch {
				_ = m.NakWithDelay(p.cfg.RetryDelay)
			}
			continue
		}
		if done != nil && done(p.stats.snapshot()) {
			return nil
		}
	}
}

// poisonDelay spaces out retries of a commit this code cannot decode: it
// will not decode until the projector is fixed, and every retry logs.
const poisonDelay = 30 * time.Second

// writeTimeout bounds the writes of one batch.
const writeTimeout = 30 * time.Second

// crashError stops the projector without acknowledging anything (tests).
type crashError struct{ stage string }

func (e *crashError) Error() string { return "simulated crash at " + e.stage }

type genRunner struct {
	p     *Projector
	log   zerolog.Logger
	m     *model
	pre   string
	cache *stateCache
	hist  history
}

// pending is one commit of a batch and what became of it.
type pending struct {
	msg     jetstream.Msg
	seq     uint64
	groupID string
	ok      bool // applied (or already applied): ack after the write
}

// apply folds a batch of commits and writes what they changed: first every
// touched member key, then each touched group's info key (the commit point,
// written with a CAS), then the acks. A crash anywhere in between leaves
// commits unacknowledged; they come back and the guard (version and
// applied sequence in the info key) folds them again from the state the
// model holds, which converges to the same keys: every member value is a
// function of the events alone.
func (r *genRunner) apply(ctx context.Context, batch []jetstream.Msg) error {
	var (
		items   = make([]pending, 0, len(batch))
		failed  = map[string]bool{}
		dirty   = map[string]map[string]bool{} // group -> touched users
		order   []string                       // dirty groups in first-touch order
		lastSeq uint64
		lastPen uint64
		evCount uint64
	)
	for _, msg := range batch {
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.NakWithDelay(r.p.cfg.RetryDelay)
			continue
		}
		it := pending{msg: msg, seq: meta.Sequence.Stream}
		lastSeq, lastPen = max(lastSeq, it.seq), meta.NumPending
		c, err := decodeCommit(msg.Data())
		if err != nil {
			// The log is immutable: a commit we cannot read stays in front
			// of its group until a fixed projector reads it. Never skip it,
			// or every later commit of the group would be folded on a
			// wrong state.
			r.log.Error().Err(err).Uint64("seq", it.seq).Msg("undecodable commit")
			r.p.stats.failures.Add(1)
			_ = msg.NakWithDelay(poisonDelay)
			continue
		}
		it.groupID = c.GroupID
		if failed[c.GroupID] {
			items = append(items, it)
			continue
		}
		h, err := r.load(ctx, c.GroupID)
		if err != nil {
			// States folded so far in this batch are ahead of the model
			// and must not survive: the batch comes back as a whole.
			for _, g := range order {
				r.cache.evict(g)
			}
			return err
		}
		first := c.Events[0].Version
		if it.seq <= h.appliedSeq || first <= h.state.Version {
			r.p.stats.redelivered.Add(1)
			it.ok = true
			items = append(items, it)
			continue
		}
		touched := dirty[c.GroupID]
		if touched == nil {
			touched = map[string]bool{}
		}
		err = nil
		if first != h.state.Version+1 {
			// Its predecessors are not applied yet (they are being
			// redelivered after a crash, or were nacked): read them from the
			// stream instead of waiting for redelivery in the right order.
			err = r.catchUp(ctx, h, c.GroupID, it.seq, touched)
		}
		if err == nil {
			err = fold(h, c, touched)
		}
		if err != nil {
			r.log.Error().Err(err).Str("group", c.GroupID).Uint64("seq", it.seq).Msg("cannot fold commit; retrying")
			failed[c.GroupID] = true
			r.cache.evict(c.GroupID) // its state may be half-folded
			items = append(items, it)
			continue
		}
		r.cache.resize(h)
		if dirty[c.GroupID] == nil {
			dirty[c.GroupID] = touched
			order = append(order, c.GroupID)
		}
		h.appliedSeq = it.seq
		if h.firstSeq == 0 {
			h.firstSeq = it.seq
		}
		evCount += uint64(len(c.Events))
		it.ok = true
		items = append(items, it)
	}
	// A group that failed in this batch is written by none of its commits:
	// the ones folded before the failure come back with it.
	for g := range failed {
		if dirty[g] != nil {
			delete(dirty, g)
		}
	}
	if err := r.write(ctx, order, dirty); err != nil {
		for _, g := range order {
			r.cache.evict(g) // memory may now be ahead of the model
		}
		return err
	}
	var commits uint64
	for _, it := range items {
		switch {
		case failed[it.groupID]:
			_ = it.msg.NakWithDelay(r.p.cfg.RetryDelay)
		case it.ok:
			_ = it.msg.Ack()
			commits++
		}
	}
	r.cache.trim(nil)
	st := &r.p.stats
	st.commits.Add(commits)
	st.evs.Add(evCount)
	if lastSeq > st.applied.Load() {
		st.applied.Store(lastSeq)
	}
	st.pending.Store(lastPen)
	return nil
}

// fold applies commit c to h and records the members it touched.
func fold(h *hot, c events.Commit, touched map[string]bool) error {
	if first := c.Events[0].Version; first != h.state.Version+1 {
		return fmt.Errorf("commit %s of %s starts at version %d, group is at %d", c.CommandID, c.GroupID, first, h.state.Version)
	}
	for _, e := range c.Events {
		d, err := h.state.Apply(e)
		if err != nil {
			return err
		}
		for _, u := range d.Upserted {
			touched[u] = true
		}
		for _, u := range d.Removed {
			touched[u] = true
		}
	}
	return nil
}

// catchUp folds the group's commits the model lacks before stream
// sequence seq, read from the stream.
func (r *genRunner) catchUp(ctx context.Context, h *hot, groupID string, seq uint64, touched map[string]bool) error {
	from := h.appliedSeq + 1
	if h.appliedSeq == 0 {
		from = 1
	}
	return r.hist.each(ctx, groupID, from, seq-1, func(s uint64, c events.Commit) (bool, error) {
		if len(c.Events) == 0 || c.Events[0].Version <= h.state.Version {
			return true, nil
		}
		if err := fold(h, c, touched); err != nil {
			return false, err
		}
		h.appliedSeq = s
		if h.firstSeq == 0 {
			h.firstSeq = s
		}
		return true, nil
	})
}

// load returns the hot state of groupID, reading it from the model when it
// is not in memory.
func (r *genRunner) load(ctx context.Context, groupID string) (*hot, error) {
	if h := r.cache.get(groupID); h != nil {
		return h, nil
	}
	info, rev, err := r.m.info(ctx, groupID)
	if errors.Is(err, events.ErrNotFound) {
		h := &hot{state: group.New(groupID)}
		r.cache.put(groupID, h)
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	members := map[string]*group.Member{}
	if !info.Dismissed {
		_, _, err = r.m.scan(ctx, memberPrefix(groupID), 0, -1, func(key string, val []byte) (bool, error) {
			var mb Member
			if err := json.Unmarshal(val, &mb); err != nil {
				return false, fmt.Errorf("decode %s: %w", key, err)
			}
			members[lastToken(key)] = mb.state()
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("load members of %s: %w", groupID, err)
		}
	}
	h := &hot{state: stateFrom(info, members), infoRev: rev, appliedSeq: info.AppliedSeq, firstSeq: info.FirstSeq}
	r.cache.put(groupID, h)
	return h, nil
}

// write stores the touched member and index keys, then the info keys.
func (r *genRunner) write(ctx context.Context, order []string, dirty map[string]map[string]bool) error {
	// Async publish acks have no deadline of their own: a lost ack must
	// fail the batch (it is retried), not stall the projector.
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	w := asyncWriter{js: r.p.cfg.JS}
	for _, g := range order {
		touched := dirty[g]
		if touched == nil {
			continue
		}
		h := r.cache.get(g)
		for u := range touched {
			if m := h.state.Members[u]; m != nil {
				mv, uv, err := memberValues(g, u, m)
				if err != nil {
					return err
				}
				if err := w.put(ctx, r.pre+memberKey(g, u), mv); err != nil {
					return err
				}
				if err := w.put(ctx, r.pre+userKey(u, g), uv); err != nil {
					return err
				}
			} else {
				if err := w.del(ctx, r.pre+memberKey(g, u)); err != nil {
					return err
				}
				if err := w.del(ctx, r.pre+userKey(u, g)); err != nil {
					return err
				}
			}
		}
	}
	if err := w.wait(ctx); err != nil {
		return err
	}
	if err := r.crashAt("members-written"); err != nil {
		return err
	}
	futs := make(map[string]jetstream.PubAckFuture, len(order))
	for _, g := range order {
		if dirty[g] == nil {
			continue
		}
		h := r.cache.get(g)
		b, err := infoValue(h)
		if err != nil {
			return err
		}
		m := nats.NewMsg(r.pre + infoKey(g))
		m.Data = b
		// CAS: a second projector (or a stale cache) cannot move a group
		// backwards; the loser reloads and finds the commit applied.
		f, err := r.p.cfg.JS.PublishMsgAsync(m, jetstream.WithExpectLastSequencePerSubject(h.infoRev))
		if err != nil {
			return fmt.Errorf("write group %s: %w", g, err)
		}
		futs[g] = f
	}
	var errs []error
	for g, f := range futs {
		select {
		case ack := <-f.Ok():
			r.cache.get(g).infoRev = ack.Sequence
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("write group %s: %w", g, err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return r.crashAt("info-written")
}

func (r *genRunner) crashAt(stage string) error {
	if r.p.cfg.crashAt == nil {
		return nil
	}
	if err := r.p.cfg.crashAt(stage); err != nil {
		return &crashError{stage: stage}
	}
	return nil
}

// memberValues encodes a member's key and user-index key values: the same
// bytes whichever path (live or rebuild) writes them.
func memberValues(groupID, userID string, m *group.Member) (mv, uv []byte, err error) {
	if mv, ok := appendMember(make([]byte, 0, 192), groupID, userID, m); ok {
		if uv, ok := appendUserGroup(make([]byte, 0, 128), groupID, m); ok {
			return mv, uv, nil
		}
	}
	if mv, err = json.Marshal(memberFromState(groupID, userID, m)); err != nil {
		return nil, nil, fmt.Errorf("encode member %s of %s: %w", userID, groupID, err)
	}
	uv, err = json.Marshal(UserGroup{GroupID: groupID, Role: m.Role, JoinedAt: m.JoinedAt, JoinedVersion: m.JoinedVersion})
	if err != nil {
		return nil, nil, fmt.Errorf("encode index %s of %s: %w", userID, groupID, err)
	}
	return mv, uv, nil
}

// infoValue encodes a group's info key value.
func infoValue(h *hot) ([]byte, error) {
	b, err := json.Marshal(infoFromState(h.state, h.appliedSeq, h.firstSeq))
	if err != nil {
		return nil, fmt.Errorf("encode group %s: %w", h.state.ID, err)
	}
	return b, nil
}

// asyncWriter publishes KV writes without waiting for each ack, and waits
// for all of them before the caller goes on: the model's writes for a batch
// cost about one round trip instead of one per key.
type asyncWriter struct {
	js   jetstream.JetStream
	futs []jetstream.PubAckFuture
}

func (w *asyncWriter) put(ctx context.Context, subject string, val []byte) error {
	m := nats.NewMsg(subject)
	m.Data = val
	return w.publish(ctx, m)
}

// del writes a KV delete marker, as jetstream.KeyValue.Delete does.
func (w *asyncWriter) del(ctx context.Context, subject string) error {
	m := nats.NewMsg(subject)
	m.Header.Set("KV-Operation", "DEL")
	return w.publish(ctx, m)
}

func (w *asyncWriter) publish(ctx context.Context, m *nats.Msg) error {
	if len(w.futs) >= 1024 {
		if err := w.wait(ctx); err != nil {
			return err
		}
	}
	f, err := w.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("write %s: %w", m.Subject, err)
	}
	w.futs = append(w.futs, f)
	return nil
}

func (w *asyncWriter) wait(ctx context.Context) error {
	defer func() { w.futs = w.futs[:0] }()
	for _, f := range w.futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("write %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
