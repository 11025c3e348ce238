package app

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/wait"
)

// store writes items, retrying while the store fails transiently. When the
// store refuses records (ErrRefused), it finds the refused messages by
// writing them one by one and dead-letters those. It returns only when
// every item is written or dead-lettered, or ctx ended.
func (s *Sink) store(ctx context.Context, src Source, log zerolog.Logger, items []item) error {
	policy := s.cfg.Backoff.Policy()
	for {
		stop := heartbeat(items, s.cfg.AckWait/3)
		err := s.insert(ctx, items)
		stop()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrRefused) {
			s.metrics.InsertErrors.WithLabelValues("permanent").Inc()
			if len(items) == 1 {
				return s.deadLetter(ctx, src, items[0].msg, "clickhouse refused the record: "+err.Error())
			}
			log.Warn().Err(err).Int("messages", len(items)).Msg("clickhouse refused a batch; writing its messages one by one")
			for i := range items {
				if err := s.store(ctx, src, log, items[i:i+1]); err != nil {
					return err
				}
			}
			return nil
		}
		s.metrics.InsertErrors.WithLabelValues("transient").Inc()
		d := policy.NextBackOff()
		log.Warn().Err(err).Int("messages", len(items)).Dur("retry_in", d).Msg("clickhouse insert failed; records wait in JetStream")
		// Keep the source from redelivering what this sink still holds.
		inProgress(items)
		if err := wait.For(ctx, s.cfg.Clock, d); err != nil {
			return err
		}
	}
}

// insert writes every record of items in one Insert and counts the rows
// per table.
func (s *Sink) insert(ctx context.Context, items []item) error {
	n := 0
	for _, it := range items {
		n += len(it.records)
	}
	batch := make([]record.Record, 0, n)
	for _, it := range items {
		batch = append(batch, it.records...)
	}
	if err := s.cfg.Store.Insert(ctx, batch); err != nil {
		return err
	}
	counts := map[record.Kind]int{}
	for _, r := range batch {
		counts[r.AuditKind()]++
	}
	for k, c := range counts {
		s.metrics.Rows.WithLabelValues(record.Table(k)).Add(float64(c))
	}
	return nil
}

// heartbeat calls InProgress on items every interval until stopped, so an
// insert slower than the ack wait does not get its messages redelivered to
// another sink meanwhile. It is paced by real time, not the injected clock:
// the ack wait it defers runs on the JetStream server, in real time.
func heartbeat(items []item, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				inProgress(items)
			}
		}
	}()
	return func() { close(done); <-finished }
}
