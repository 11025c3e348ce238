package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Redeliver handles roster.webhook.redeliver: it checks the range and the
// endpoint, then enqueues the range's events the endpoint wants
// (RedeliverEvents).
func (a *App) Redeliver(ctx context.Context, r RedeliverRequest) (RedeliverReply, error) {
	var errs []error
	if (r.Since == nil) == (r.SinceSeq == 0) {
		errs = append(errs, errors.New("give exactly one of since (RFC 3339 time) and since_seq"))
	}
	if r.Until != nil && r.UntilSeq != 0 {
		errs = append(errs, errors.New("give at most one of until and until_seq"))
	}
	if r.Since != nil && r.Until != nil && r.Until.Before(*r.Since) {
		errs = append(errs, errors.New("until is before since"))
	}
	if r.UntilSeq != 0 && r.UntilSeq < r.SinceSeq {
		errs = append(errs, errors.New("until_seq is before since_seq"))
	}
	if err := errors.Join(errs...); err != nil {
		return RedeliverReply{}, invalid(err)
	}
	ep, _, err := a.cfg.Endpoints.Get(ctx, r.EndpointID)
	if err != nil {
		return RedeliverReply{}, storeErr(err)
	}
	return a.RedeliverEvents(ctx, r, ep)
}

// RedeliverEvents enqueues, with trigger "redelivery" and a fresh
// generation, one job per event in the range that ep wants, batched as
// the fan-out batches them (units): a redelivered kick re-sends its whole
// remove command. A generation starts a new attempt series (an exhausted
// event is tried again) under the same webhook-id. Past RedeliverLimit jobs it stops
// before a commit and says where to continue.
func (a *App) RedeliverEvents(ctx context.Context, r RedeliverRequest, ep endpoint.Endpoint) (RedeliverReply, error) {
	gen := uuid.NewString()
	out := RedeliverReply{Generation: gen}
	last, err := a.cfg.Events.LastSeq(ctx)
	if err != nil {
		return out, unavailable(err)
	}
	if r.UntilSeq != 0 && r.UntilSeq < last {
		last = r.UntilSeq
	}
	if last == 0 || (r.SinceSeq != 0 && r.SinceSeq > last) {
		return out, nil
	}
	now := a.now().UTC()
	var enqErr error
	err = a.cfg.Events.Commits(ctx, SeqRange{FromSeq: r.SinceSeq, FromTime: r.Since, LastSeq: last}, func(c Commit) (bool, error) {
		if r.Until != nil && c.Time.After(*r.Until) {
			return false, nil
		}
		wanted := units(ep, c.Events)
		if out.Enqueued > 0 && out.Enqueued+len(wanted) > a.cfg.RedeliverLimit {
			out.Truncated, out.NextSinceSeq = true, c.Seq
			return false, nil
		}
		for _, u := range wanted {
			j := Job{EndpointID: r.EndpointID, Event: u.event, Batch: u.batch, StreamSeq: c.Seq, Trigger: TriggerRedelivery, Generation: gen, EnqueuedAt: now}
			o, err := j.out(false)
			if err == nil {
				err = a.cfg.Queue.Enqueue(ctx, o)
			}
			if err != nil {
				out.Truncated, out.NextSinceSeq = true, c.Seq
				enqErr = fmt.Errorf("enqueue %s: %w", j.MsgID(), err)
				return false, nil
			}
			out.Enqueued++
		}
		out.Scanned++
		if out.FirstSeq == 0 {
			out.FirstSeq = c.Seq
		}
		out.LastSeq = c.Seq
		return c.Seq < last, nil
	})
	if enqErr != nil {
		return out, enqErr
	}
	if err != nil {
		return out, unavailable(err)
	}
	return out, nil
}
