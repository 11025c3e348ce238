package app

import (
	"context"
	"errors"
	"sync"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/wait"
)

// item is one message and the records it becomes.
type item struct {
	msg     Message
	records []record.Record
}

// consume runs one source as a pipeline, so that the store, the source
// and the CPU work at the same time:
//
//	read:  fetch a batch and decode it       (batch n+2)
//	       hand a decoded batch over          (batch n+1)
//	write: insert a batch into the store     (batch n)
//	ack:   acknowledge a batch the store took (batch n-1)
//
// A batch reaches the acker only after its insert returned, so no message
// is acknowledged before the store accepted it. The reader hands each
// batch over from a goroutine of its own and meanwhile fetches the next,
// so JetStream keeps delivering while the writer is busy; it hands that
// next batch over only after the previous hand-over ended. So at most two
// decoded batches wait for the writer, in order, each marked in progress
// by whoever holds it (docs/adr/0113), and an outage pulls no more than
// two batches beyond the one being retried out of the source.
func (s *Sink) consume(ctx context.Context, src Source) error {
	log := s.log.With().Str("consumer", src.Name()).Logger()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	decoded := make(chan []item)
	written := make(chan []item)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(decoded)
		readErr = s.read(ctx, src, log, decoded)
	}()
	go func() {
		defer wg.Done()
		s.ack(log, written)
	}()
	writeErr := s.write(ctx, src, log, decoded, written)
	close(written)
	cancel() // stops the reader if the writer gave up first
	wg.Wait()
	// Both stop only when ctx ends (their errors are then ctx's, or a
	// dead-letter publish cut short by it).
	return errors.Join(IgnoreCancel(writeErr), IgnoreCancel(readErr))
}

// read fetches batches and decodes them, dead-lettering the messages that
// can never be written, and hands each batch to the writer (handOver, in a
// goroutine, while the next batch is fetched).
func (s *Sink) read(ctx context.Context, src Source, log zerolog.Logger, out chan<- []item) error {
	// prev is the hand-over still running, nil when none is.
	var prev <-chan error
	defer func() {
		if prev != nil {
			<-prev // it ends with ctx; out must outlive it
		}
	}()
	for ctx.Err() == nil {
		// One fetch is one batch: it ends when BatchSize messages came or
		// FlushInterval passed, whichever is first.
		batch, err := src.Fetch(ctx, s.cfg.BatchSize, s.cfg.FlushInterval)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn().Err(err).Msg("fetch failed")
			if err := wait.For(ctx, s.cfg.Clock, s.cfg.Backoff.Min); err != nil {
				break
			}
			continue
		}
		items := make([]item, 0, s.cfg.BatchSize)
		for msg := range batch {
			records, err := msg.Records()
			if err != nil {
				if err := s.deadLetter(ctx, src, msg, err.Error()); err != nil {
					return err
				}
				continue
			}
			if len(records) == 0 { // nothing to write (a dead letter passing by)
				_ = msg.Ack()
				continue
			}
			items = append(items, item{msg: msg, records: records})
		}
		if len(items) == 0 {
			continue
		}
		if prev != nil {
			err := s.holdUntil(items, prev)
			prev = nil
			if err != nil {
				return err // the unacknowledged messages will be redelivered
			}
		}
		done := make(chan error, 1)
		go func() { done <- s.handOver(ctx, items, out) }()
		prev = done
	}
	return ctx.Err()
}

// holdUntil waits for the previous batch's hand-over to end (it ends when
// the writer took that batch or ctx ended) and returns its error, marking
// items in progress meanwhile: they wait for the writer too.
func (s *Sink) holdUntil(items []item, prev <-chan error) error {
	select { // the common case: the writer took the previous batch already
	case err := <-prev:
		return err
	default:
	}
	tick := s.cfg.Clock.NewTicker(s.cfg.AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case err := <-prev:
			return err
		case <-tick.Chan():
			inProgress(items)
		}
	}
}

// handOver waits until the writer takes items. While the writer is busy
// (a slow insert, or retries during an outage) it tells the source the
// messages are still being worked on, so they are not redelivered to
// another sink meanwhile.
func (s *Sink) handOver(ctx context.Context, items []item, out chan<- []item) error {
	select { // the common case: the writer is already waiting
	case out <- items:
		return nil
	default:
	}
	tick := s.cfg.Clock.NewTicker(s.cfg.AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case out <- items:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.Chan():
			inProgress(items)
		}
	}
}

func inProgress(items []item) {
	for _, it := range items {
		_ = it.msg.InProgress()
	}
}

// write stores each batch (retrying, or isolating refused records) and
// passes it on to be acknowledged.
func (s *Sink) write(ctx context.Context, src Source, log zerolog.Logger, in <-chan []item, out chan<- []item) error {
	for items := range in {
		if err := s.store(ctx, src, log, items); err != nil {
			return err // ctx ended: the unacknowledged messages will be redelivered
		}
		// The acker never blocks for long, so this send does not either; a
		// batch that is in the store is always acknowledged, even when ctx
		// ends right now.
		out <- items
	}
	return ctx.Err()
}

// ack acknowledges batches that the store accepted, until in is closed
// (not when ctx ends: a batch that reached it is stored, and an ack sent
// now saves a redelivery).
func (s *Sink) ack(log zerolog.Logger, in <-chan []item) {
	for items := range in {
		for _, it := range items {
			// A lost ack only means a redelivery, which the store absorbs.
			if err := it.msg.Ack(); err != nil {
				log.Debug().Err(err).Msg("ack failed")
			}
		}
	}
}
