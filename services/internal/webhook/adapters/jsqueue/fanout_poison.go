package jsqueue

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers of a parked commit (Watermill's poison queue names, kept for
// readers of ROSTER_WEBHOOK_POISON).
const (
	hdrPoisonReason  = "reason_poisoned"
	hdrPoisonSubject = "topic_poisoned"
)

func (f *Fanout) poison(ctx context.Context, cm jetstream.Msg, cause error) error {
	f.cfg.Log.Error().Err(cause).Str("subject", cm.Subject()).Msg("webhook fan-out: commit parked on " + PoisonStream)
	m := nats.NewMsg(PoisonSubject)
	m.Data = cm.Data()
	for k, vs := range cm.Headers() {
		if k == nats.MsgIdHdr || k == pinIDHeader {
			continue
		}
		m.Header[k] = vs
	}
	m.Header.Set(hdrPoisonReason, cause.Error())
	m.Header.Set(hdrPoisonSubject, cm.Subject())
	if _, err := f.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("park commit on %s: %w", PoisonStream, err)
	}
	return nil
}
