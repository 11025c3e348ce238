package jsqueue

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keepInProgress marks the batch's commits in progress every AckWait/3
// until the returned stop is called (which waits for the heartbeat to
// end), so a short AckWait bounds only how long a dead dispatcher's
// commits wait (ADR 0026). touched is when they were last marked.
func (f *Fanout) keepInProgress(batch []jetstream.Msg, touched *atomic.Int64) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := f.cfg.Clock.NewTicker(f.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.Chan():
			}
			for _, cm := range batch {
				_ = cm.InProgress()
			}
			touched.Store(f.cfg.Clock.Now().UnixNano())
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}

// publish stores every message of one wave, retrying the failed ones
// until all are stored or ctx ends. A batch whose commits were last marked
// in progress longer than AckWait ago (the process stalled) is abandoned.
func (f *Fanout) publish(ctx context.Context, wave []*nats.Msg, touched *atomic.Int64) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		if f.cfg.Clock.Since(time.Unix(0, touched.Load())) > f.cfg.AckWait {
			return errBatchStale
		}
		futs := make([]jetstream.PubAckFuture, len(wave))
		var failed []*nats.Msg
		var lastErr error
		waited := 0
		// await collects the outcome of futs[waited:upto].
		await := func(upto int) error {
			for ; waited < upto; waited++ {
				fut := futs[waited]
				if fut == nil {
					continue
				}
				select {
				case <-fut.Ok():
				case err := <-fut.Err():
					failed, lastErr = append(failed, wave[waited]), err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		for i, nm := range wave {
			// At most fanoutWindow unacknowledged publishes (nats.go
			// stalls, then fails, past its own limit).
			if err := await(i - fanoutWindow); err != nil {
				return err
			}
			// A fresh message each time: nats.go sets the reply subject.
			fut, err := f.js.PublishMsgAsync(&nats.Msg{Subject: nm.Subject, Header: nm.Header, Data: nm.Data})
			if err != nil {
				failed, lastErr = append(failed, nm), err
				continue
			}
			futs[i] = fut
		}
		if err := await(len(wave)); err != nil {
			return err
		}
		if len(failed) == 0 {
			f.cfg.Enqueued(units(wave))
			return nil
		}
		f.cfg.Log.Warn().Err(lastErr).Int("failed", len(failed)).Int("jobs", len(wave)).Msg("storing delivery jobs; retrying")
		f.cfg.Enqueued(units(wave) - units(failed))
		wave = failed
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.cfg.Clock.After(delay):
		}
	}
}

// units counts the requests the jobs carry (unitsHeader).
func units(jobs []*nats.Msg) int {
	n := 0
	for _, m := range jobs {
		if k, err := strconv.Atoi(m.Header.Get(unitsHeader)); err == nil && k > 0 {
			n += k
		} else {
			n++
		}
	}
	return n
}
