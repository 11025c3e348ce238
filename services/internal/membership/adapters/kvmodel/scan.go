package kvmodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rosterhq/roster/services/internal/wait"
)

// A scan's first fetch may find no responder in a cluster (see Scan); it
// tries again this many times, this far apart.
const (
	scanNoResponderRetries = 40
	scanNoResponderPause   = 25 * time.Millisecond
	// scanEmptyRetries bounds the empty fetches in a row a scan accepts
	// while its consumer still reports pending messages (about 10 s).
	scanEmptyRetries = 400
)

// Scan visits the live keys under prefix ("" for all) in the order they
// were last written, starting after bucket stream sequence afterSeq. It
// stops after keep has accepted limit entries (limit < 0: no limit) and
// returns the sequence to resume after and whether entries remain.
//
// Why stream order and not key order: a page then costs one consumer and
// limit messages however large the group is, instead of listing every key
// of a 100,000-member group to sort them. A key rewritten while a client
// pages moves to the end, so it can appear twice but is never skipped.
func (m *Model) Scan(ctx context.Context, prefix string, afterSeq uint64, limit int, keep func(key string, val []byte) (bool, error)) (uint64, bool, error) {
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
			if err := wait.For(ctx, m.clock, scanNoResponderPause); err != nil {
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
			if err := wait.For(ctx, m.clock, scanNoResponderPause); err != nil {
				return seen, true, fmt.Errorf("scan %s: %w", m.bucket, err)
			}
			continue
		}
		empties = 0
	}
}
