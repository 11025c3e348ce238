package membership

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
)

// The bulk phase of a rebuild (ADR 0035). A rebuild replays the stream from
// its first commit into a generation that is empty, has one writer (the
// rebuild lock) and is read by nobody until the switch. That allows what
// the live projector cannot afford:
//   - reading the stream with an ordered consumer (no acks, no redelivery)
//     while the previous window is folded and written (pipelined);
//   - folding a window of thousands of commits in memory and writing each
//     touched key once, with its final value (last write wins);
//   - publishing without waiting: most writes carry no reply subject, and
//     every ackEvery-th write (and the last of each window) asks for a
//     publish ack whose stream sequence proves that every write before it
//     was stored, in order. One writer on a fresh bucket means the n-th
//     write must get sequence n; anything else (a write dropped by the
//     server, a second writer) fails the rebuild instead of switching to an
//     incomplete model.
// A crash in this phase leaves a generation nobody reads; the next rebuild
// deletes it and starts over. The tail (commits appended since the rebuild
// started) is then folded by the projector's guarded path before the
// switch.

// bulkOptions tunes the bulk phase.
type bulkOptions struct {
	// window is how many commits are folded before their keys are written.
	window int
	// ackEvery asks for a publish ack every ackEvery writes (1: all).
	ackEvery int
	// maxUnproven bounds the writes in flight that no ack has proven
	// stored yet. It must stay well below the server's per-stream ingest
	// queue (100,000 messages by default) so that a burst is never dropped.
	maxUnproven int
}

var defaultBulk = bulkOptions{window: 8192, ackEvery: 256, maxUnproven: 16384}

// errBulkGap means a write of the bulk phase was not stored where it had to
// be: the server dropped it (ingest limit), or something else writes the
// generation.
var errBulkGap = errors.New("rebuild write not stored in sequence")

// bulkWriter publishes a fresh generation's writes with few acks; see above.
type bulkWriter struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	stream      string // the bucket's stream name
	next        uint64 // the sequence the next write will be stored at
	ackEvery    int
	maxUnproven int
	sinceAck    int
	out         []sentinel // acked writes in flight, oldest first
}

type sentinel struct {
	f   jetstream.PubAckFuture
	seq uint64
}

// send publishes m and returns the sequence it will be stored at. proof
// asks for an ack for this write (the last write of a window).
func (w *bulkWriter) send(ctx context.Context, m *nats.Msg, proof bool) (uint64, error) {
	seq := w.next
	w.sinceAck++
	if proof || w.sinceAck >= w.ackEvery {
		f, err := w.js.PublishMsgAsync(m)
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", m.Subject, err)
		}
		w.out = append(w.out, sentinel{f: f, seq: seq})
		w.sinceAck = 0
		for len(w.out) > 0 && int(seq-w.out[0].seq) >= w.maxUnproven {
			if err := w.waitOldest(ctx); err != nil {
				return 0, err
			}
		}
	} else if err := w.nc.PublishMsg(m); err != nil {
		return 0, fmt.Errorf("write %s: %w", m.Subject, err)
	}
	w.next++
	return seq, nil
}

func (w *bulkWriter) waitOldest(ctx context.Context) error {
	s := w.out[0]
	w.out = w.out[1:]
	t := time.NewTimer(writeTimeout)
	defer t.Stop()
	select {
	case ack := <-s.f.Ok():
		if ack.Stream != w.stream || ack.Sequence != s.seq {
			return fmt.Errorf("%w: %s stored at %s/%d, expected %s/%d", errBulkGap, s.f.Msg().Subject, ack.Stream, ack.Sequence, w.stream, s.seq)
		}
		return nil
	case err := <-s.f.Err():
		return fmt.Errorf("%w: write %s: %w", errBulkGap, s.f.Msg().Subject, err)
	case <-t.C:
		return fmt.Errorf("write %s: no ack after %s", s.f.Msg().Subject, writeTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain waits until every write sent so far is proven stored.
func (w *bulkWriter) drain(ctx context.Context) error {
	for len(w.out) > 0 {
		if err := w.waitOldest(ctx); err != nil {
			return err
		}
	}
	return nil
}

// decoded is one commit read by the bulk phase.
type decoded struct {
	seq, pending uint64
	c            events.Commit
	err          error
}

// readCommits sends the stream's commits up to and including sequence last
// to out in batches, decoded, and closes out. It stops early when the
// stream has nothing more (last was not a commit).
func readCommits(ctx context.Context, stream jetstream.Stream, last uint64, out chan<- []decoded) error {
	defer close(out)
	oc, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectPrefix + ">"},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	it, err := oc.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("read %s: %w", events.StreamName, err)
	}
	defer it.Stop()
	const batchLen = 256
	batch := make([]decoded, 0, batchLen)
	send := func() error {
		select {
		case out <- batch:
			batch = make([]decoded, 0, batchLen)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamName, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamName, err)
		}
		seq := meta.Sequence.Stream
		if seq > last {
			break
		}
		d := decoded{seq: seq, pending: meta.NumPending}
		if d.c, err = decodeCommit(msg.Data()); err != nil {
			d.err = err
		}
		batch = append(batch, d)
		if d.err != nil || seq >= last || meta.NumPending == 0 {
			break
		}
		if len(batch) == batchLen {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return send()
	}
	return nil
}

// bulkLoad folds the stream's commits up to sequence last into gen, which
// must be empty and private to the caller. It returns the folded group
// states (for the guarded tail to continue from) and the sequence of the
// last commit folded: the tail starts after it.
func (p *Projector) bulkLoad(ctx context.Context, gen Generation, last uint64, opt bulkOptions, progress func(Stats)) (*stateCache, uint64, error) {
	kv, err := openGeneration(ctx, p.cfg.JS, gen.Number, p.cfg.Store)
	if err != nil {
		return nil, 0, err
	}
	kvs, err := p.cfg.JS.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", kv.Bucket(), err)
	}
	info, err := kvs.Info(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", kv.Bucket(), err)
	}
	if info.State.Msgs != 0 {
		return nil, 0, fmt.Errorf("generation %d is not empty (%d messages): %w", gen.Number, info.State.Msgs, errBulkGap)
	}
	stream, err := p.cfg.JS.Stream(ctx, events.StreamName)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", events.StreamName, err)
	}
	p.stats.gen.Store(gen.Number)
	r := &genRunner{
		p: p, log: p.cfg.Log.With().Uint64("generation", gen.Number).Logger(),
		m:     &model{gen: gen.Number, bucket: kv.Bucket(), js: p.cfg.JS, kv: kv, stream: kvs},
		pre:   "$KV." + kv.Bucket() + ".",
		cache: newStateCache(p.cfg.MaxCachedMembers),
		hist:  history{stream: stream},
	}
	w := &bulkWriter{
		nc: p.cfg.JS.Conn(), js: p.cfg.JS, stream: info.Config.Name, next: info.State.LastSeq + 1,
		ackEvery: max(opt.ackEvery, 1), maxUnproven: max(opt.maxUnproven, opt.ackEvery, 1),
	}
	b := &bulk{r: r, w: w, dirty: map[string]map[string]bool{}, evicted: map[string]bool{}}
	r.cache.onTrim = func(id string) { b.evicted[id] = true }

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []decoded, 8)
	rerr := make(chan error, 1)
	go func() { rerr <- readCommits(rctx, stream, last, ch) }()

	var lastSeq uint64
	fail := func(err error) (*stateCache, uint64, error) {
		cancel()
		for range ch { // let the reader end
		}
		<-rerr
		return nil, 0, err
	}
	inWindow := 0
	for batch := range ch {
		for _, d := range batch {
			if d.err != nil {
				return fail(fmt.Errorf("commit %d: %w", d.seq, d.err))
			}
			if err := b.fold(ctx, d); err != nil {
				return fail(err)
			}
			lastSeq = d.seq
			p.stats.pending.Store(d.pending)
			inWindow++
		}
		if inWindow >= opt.window {
			if err := b.flush(ctx); err != nil {
				return fail(err)
			}
			p.stats.applied.Store(lastSeq)
			inWindow = 0
			if progress != nil {
				progress(p.stats.snapshot())
			}
		}
	}
	if err := <-rerr; err != nil {
		return nil, 0, err
	}
	if err := b.flush(ctx); err != nil {
		return nil, 0, err
	}
	if err := w.drain(ctx); err != nil {
		return nil, 0, err
	}
	p.stats.applied.Store(lastSeq)
	if progress != nil {
		progress(p.stats.snapshot())
	}
	r.cache.onTrim = nil
	return r.cache, lastSeq, nil
}

// bulk is the folding and writing side of the bulk phase.
type bulk struct {
	r       *genRunner
	w       *bulkWriter
	dirty   map[string]map[string]bool // group -> users touched in this window
	order   []string                   // dirty groups in first-touch order
	evicted map[string]bool            // groups written and dropped from memory
	commits uint64
	evs     uint64
}

// hot returns the group's state: in memory, new, or (after it was evicted)
// read back from the generation once every write is proven stored.
func (b *bulk) hot(ctx context.Context, groupID string) (*hot, error) {
	if h := b.r.cache.get(groupID); h != nil {
		return h, nil
	}
	if !b.evicted[groupID] {
		h := &hot{state: group.New(groupID)}
		b.r.cache.put(groupID, h)
		return h, nil
	}
	if err := b.w.drain(ctx); err != nil {
		return nil, err
	}
	delete(b.evicted, groupID)
	return b.r.load(ctx, groupID)
}

// fold applies one commit with the projector's guard and fold.
func (b *bulk) fold(ctx context.Context, d decoded) error {
	c := d.c
	h, err := b.hot(ctx, c.GroupID)
	if err != nil {
		return err
	}
	first := c.Events[0].Version
	if d.seq <= h.appliedSeq || first <= h.state.Version {
		b.r.p.stats.redelivered.Add(1) // a duplicate in the log: no effect
		return nil
	}
	touched := b.dirty[c.GroupID]
	if touched == nil {
		touched = map[string]bool{}
		b.dirty[c.GroupID] = touched
		b.order = append(b.order, c.GroupID)
	}
	// Read in stream order from the first commit, a commit that does not
	// follow its group's version means the log lacks its predecessor: the
	// live projector would be stuck on it too.
	if err := fold(h, c, touched); err != nil {
		return fmt.Errorf("commit %d: %w", d.seq, err)
	}
	b.r.cache.resize(h)
	h.appliedSeq = d.seq
	if h.firstSeq == 0 {
		h.firstSeq = d.seq
	}
	b.commits++
	b.evs += uint64(len(c.Events))
	return nil
}

// flush writes the window: each touched member and index key once, then
// the group's info key (last, as the live projector does), and proves the
// window's last write stored before the next window's writes are counted.
func (b *bulk) flush(ctx context.Context) error {
	if len(b.order) == 0 {
		return nil
	}
	pre := b.r.pre
	for i, g := range b.order {
		h := b.r.cache.get(g)
		for u := range b.dirty[g] {
			var err error
			if m := h.state.Members[u]; m != nil {
				mv, uv, merr := memberValues(g, u, m)
				if merr != nil {
					return merr
				}
				if _, err = b.w.send(ctx, &nats.Msg{Subject: pre + memberKey(g, u), Data: mv}, false); err == nil {
					_, err = b.w.send(ctx, &nats.Msg{Subject: pre + userKey(u, g), Data: uv}, false)
				}
			} else {
				if _, err = b.w.send(ctx, delMsg(pre+memberKey(g, u)), false); err == nil {
					_, err = b.w.send(ctx, delMsg(pre+userKey(u, g)), false)
				}
			}
			if err != nil {
				return err
			}
		}
		iv, err := infoValue(h)
		if err != nil {
			return err
		}
		seq, err := b.w.send(ctx, &nats.Msg{Subject: pre + infoKey(g), Data: iv}, i == len(b.order)-1)
		if err != nil {
			return err
		}
		h.infoRev = seq // what the guarded tail's CAS expects
	}
	clear(b.dirty)
	b.order = b.order[:0]
	st := &b.r.p.stats
	st.commits.Add(b.commits)
	st.evs.Add(b.evs)
	b.commits, b.evs = 0, 0
	// Every state is written now; the cache may drop the coldest.
	b.r.cache.trim(nil)
	return nil
}

// delMsg is a KV delete marker, as jetstream.KeyValue.Delete writes it.
func delMsg(subject string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set("KV-Operation", "DEL")
	return m
}
