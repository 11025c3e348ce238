package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/eventstore"
	"github.com/rosterhq/roster/services/internal/natsx"
)

// RedeliverRequest is roster.webhook.redeliver: re-send the events stored
// in a range of ROSTER_EVENTS to one endpoint. Give since (RFC 3339) or
// since_seq; until / until_seq bound the range (default: the stream's end
// when the request arrives).
type RedeliverRequest struct {
	Actor      string     `json:"actor"`
	EndpointID string     `json:"endpoint_id"`
	Since      *time.Time `json:"since,omitempty"`
	SinceSeq   uint64     `json:"since_seq,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	UntilSeq   uint64     `json:"until_seq,omitempty"`
}

// RedeliverReply says what was enqueued. When Truncated, call again with
// since_seq = NextSinceSeq.
type RedeliverReply struct {
	Enqueued     int    `json:"enqueued"`
	Scanned      int    `json:"scanned_commits"`
	FirstSeq     uint64 `json:"first_seq,omitempty"`
	LastSeq      uint64 `json:"last_seq,omitempty"`
	Truncated    bool   `json:"truncated"`
	NextSinceSeq uint64 `json:"next_since_seq,omitempty"`
	Generation   string `json:"generation"`
}

// parseRedeliver decodes a redeliver request and checks its ids.
func parseRedeliver(data []byte) (RedeliverRequest, error) {
	var r RedeliverRequest
	if err := decodeStrict(data, &r); err != nil {
		return r, err
	}
	return r, firstErr(events.ValidateID("actor", r.Actor), events.ValidateID("endpoint_id", r.EndpointID), strictTimes(data))
}

// rfc3339 is RFC 3339's date-time production, as the JSON Schema's
// "date-time" format reads it: Go's time parser also takes a one-digit
// hour, which the schema refuses (found by
// FuzzWebhookRequestsAgreeWithSchemas).
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

// strictTimes checks the text of since and until (already decoded, and so
// known to be strings or absent) against rfc3339.
func strictTimes(data []byte) error {
	var raw struct {
		Since *string `json:"since"`
		Until *string `json:"until"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return events.Errorf(events.CodeInvalidArgument, "since, until: %v", err)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"since", raw.Since}, {"until", raw.Until}} {
		if f.v != nil && !rfc3339.MatchString(*f.v) {
			return events.Errorf(events.CodeInvalidArgument, "%s: %q is not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm))", f.name, *f.v)
		}
	}
	return nil
}

func (d *Dispatcher) handleRedeliver(ctx context.Context, data []byte) (any, error) {
	r, err := parseRedeliver(data)
	if err != nil {
		return nil, err
	}
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
		return nil, invalid(err)
	}
	ep, _, err := d.store.Get(ctx, r.EndpointID)
	if err != nil {
		return nil, err
	}
	return d.Redeliver(ctx, r, func(e events.Event) bool { return ep.Wants(e) })
}

// Redeliver enqueues, with trigger "redelivery" and a fresh generation,
// one job per event in the range that the endpoint wants. A generation
// starts a new attempt series (an exhausted event is tried again) under
// the same webhook-id.
func (d *Dispatcher) Redeliver(ctx context.Context, r RedeliverRequest, wants func(events.Event) bool) (RedeliverReply, error) {
	gen := uuid.NewString()
	out := RedeliverReply{Generation: gen}
	info, err := d.events.Info(ctx)
	if err != nil {
		return out, events.Errorf(events.CodeUnavailable, "read %s: %v", events.StreamName, err)
	}
	last := info.State.LastSeq
	if r.UntilSeq != 0 && r.UntilSeq < last {
		last = r.UntilSeq
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: r.SinceSeq, InactiveThreshold: 30 * time.Second}
	if r.Since != nil {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: r.Since, InactiveThreshold: 30 * time.Second}
	}
	if last == 0 || (r.SinceSeq != 0 && r.SinceSeq > last) {
		return out, nil
	}
	cons, err := d.events.OrderedConsumer(ctx, cfg)
	if err != nil {
		return out, events.Errorf(events.CodeUnavailable, "read %s: %v", events.StreamName, err)
	}
	defer natsx.ReleaseConsumer(d.events, cons)
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return out, events.Errorf(events.CodeUnavailable, "read %s: %v", events.StreamName, err)
	}
	defer it.Stop()
	now := d.cfg.Now().UTC()
	for {
		nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return out, nil // nothing more in range (e.g. since is after the last event)
		}
		if err != nil {
			return out, events.Errorf(events.CodeUnavailable, "read %s: %v", events.StreamName, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return out, err
		}
		seq := meta.Sequence.Stream
		if seq > last || (r.Until != nil && meta.Timestamp.After(*r.Until)) {
			return out, nil
		}
		c, err := eventstore.DecodeCommit(msg.Data())
		if err != nil {
			d.log.Warn().Err(err).Uint64("seq", seq).Msg("redeliver: skipping undecodable commit")
			continue
		}
		var n int
		for _, ev := range c.Events {
			if up, err := events.Upcast(ev); err == nil {
				ev = up
			}
			if wants(ev) {
				n++
			}
		}
		if out.Enqueued > 0 && out.Enqueued+n > d.cfg.RedeliverLimit {
			out.Truncated, out.NextSinceSeq = true, seq
			return out, nil
		}
		for _, ev := range c.Events {
			if up, err := events.Upcast(ev); err == nil {
				ev = up
			}
			if !wants(ev) {
				continue
			}
			j := job{EndpointID: r.EndpointID, Event: ev, StreamSeq: seq, Trigger: TriggerRedelivery, Generation: gen, EnqueuedAt: now}
			if err := d.enqueue(ctx, j); err != nil {
				out.Truncated, out.NextSinceSeq = true, seq
				return out, err
			}
			out.Enqueued++
		}
		out.Scanned++
		if out.FirstSeq == 0 {
			out.FirstSeq = seq
		}
		out.LastSeq = seq
		if seq >= last {
			return out, nil
		}
	}
}

// enqueue stores one job directly with nats.go (redeliver runs inside a
// request handler, not the Watermill router).
func (d *Dispatcher) enqueue(ctx context.Context, j job) error {
	body, err := jsonMarshal(j)
	if err != nil {
		return err
	}
	m := nats.NewMsg(DeliverySubject(j.EndpointID, j.Event.GroupID))
	m.Data = body
	if _, err := d.cfg.JS.PublishMsg(ctx, m, jetstream.WithMsgID(j.msgID())); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.msgID(), err)
	}
	return nil
}
