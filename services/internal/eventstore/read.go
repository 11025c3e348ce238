package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reads go to the stream through two JetStream API requests, never through
// a consumer (docs/adr/0006):
//
//   - STREAM.MSG.GET, answered by the stream leader only. What the leader
//     has includes every acknowledged append, so it decides freshness: the
//     last sequence of a subject and any single commit a command needs.
//   - DIRECT.GET in batch mode (server 2.11+), answered by any replica that
//     has enabled direct gets (a restarted one does so at 90% caught up),
//     preferring one on the client's own server. It streams up to a batch
//     of one subject's messages and ends with an EOB status. A replica holds
//     a prefix of the leader's log, so what it returns is right but may be
//     short; the caller compares with the leader's sequence.

// Headers of direct get replies that nats.go does not export.
const (
	hdrStatus      = "Status"
	hdrDescription = "Description"
	hdrNumPending  = "Nats-Num-Pending"
)

// errReplicaTimeout means a direct batch did not end within the read
// timeout: the answering replica stopped or the reply was lost. The reader
// carries on from the leader.
var errReplicaTimeout = errors.New("direct batch did not end in time")

// msgGetRequest is the body of STREAM.MSG.GET and DIRECT.GET.
type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
	Batch   int    `json:"batch,omitempty"`
	// StartTime finds the first message stored at or after it.
	StartTime *time.Time `json:"start_time,omitempty"`
}

type msgGetResponse struct {
	Error   *jetstream.APIError `json:"error,omitempty"`
	Message *struct {
		Subject  string    `json:"subject"`
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs,omitempty"`
		Data     []byte    `json:"data,omitempty"`
		Time     time.Time `json:"time"`
	} `json:"message,omitempty"`
}

// rawMsg is one stored message as the readers return it.
type rawMsg struct {
	Seq    uint64
	Time   time.Time
	Data   []byte
	Header nats.Header
}

func (m rawMsg) message() Message {
	return Message{Seq: m.Seq, Time: m.Time, Data: m.Data, Header: m.Header}
}

// apiSubject prefixes an API subject the way the JetStream context does
// (custom prefix, domain, or $JS.API.).
func apiSubject(opts jetstream.JetStreamOptions, subject string) string {
	switch {
	case opts.APIPrefix != "":
		return strings.TrimSuffix(opts.APIPrefix, ".") + "." + subject
	case opts.Domain != "":
		return "$JS." + opts.Domain + ".API." + subject
	}
	return jetstream.DefaultAPIPrefix + subject
}

// readContext bounds one read request by d unless the caller's context
// ends sooner.
func readContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// leaderGet asks the stream leader for one message. ok is false when the
// leader has no message matching req.
func (s *Store) leaderGet(ctx context.Context, req msgGetRequest) (m rawMsg, ok bool, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return rawMsg{}, false, fmt.Errorf("encode message get: %w", err)
	}
	rctx, cancel := readContext(ctx, s.cfg.ReadTimeout)
	defer cancel()
	s.stats.leaderGets.Add(1)
	s.metrics.leaderGets.Inc()
	reply, err := s.nc.RequestWithContext(rctx, s.msgGetSubject, body)
	if err != nil {
		return rawMsg{}, false, fmt.Errorf("leader message get: %w", err)
	}
	var resp msgGetResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return rawMsg{}, false, fmt.Errorf("leader message get: decode reply: %w", err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return rawMsg{}, false, nil
		}
		return rawMsg{}, false, fmt.Errorf("leader message get: %w", resp.Error)
	}
	if resp.Message == nil {
		return rawMsg{}, false, fmt.Errorf("leader message get: %w", jetstream.ErrInvalidJetStreamResponse)
	}
	m = rawMsg{Seq: resp.Message.Sequence, Time: resp.Message.Time, Data: resp.Message.Data}
	if len(resp.Message.Header) > 0 {
		if m.Header, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return rawMsg{}, false, fmt.Errorf("leader message get: headers of %d: %w", m.Seq, err)
		}
	}
	return m, true, nil
}

// batchEnd is what a direct batch said about where it stopped.
type batchEnd struct {
	// Pending is how many messages of the subject the answering replica
	// still holds after the batch: more than 0 when the batch stopped at
	// its size or byte limit, 0 when the replica reached its end.
	Pending uint64
	// Empty is true when the replica has no message of the subject at or
	// after the requested sequence (it answered 404).
	Empty bool
	// Foreign is true when another stream answered: a mirror with
	// MirrorDirect joins the direct-get group of the stream it mirrors,
	// and a mirror may be filtered or start late, so it need not hold a
	// prefix of the group. Its replies are dropped.
	Foreign bool
}

// directBatch asks any replica for up to batch messages of subject from
// seq on and calls fn with each, in stream order.
func (s *Store) directBatch(ctx context.Context, subject string, seq uint64, batch int, fn func(rawMsg) error) (batchEnd, error) {
	body, err := json.Marshal(msgGetRequest{Seq: seq, NextFor: subject, Batch: batch})
	if err != nil {
		return batchEnd{}, fmt.Errorf("encode direct get: %w", err)
	}
	rctx, cancel := readContext(ctx, s.cfg.ReplicaTimeout)
	defer cancel()
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return batchEnd{}, fmt.Errorf("direct get: subscribe reply: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	s.stats.directBatches.Add(1)
	s.metrics.directBatches.Inc()
	if err := s.nc.PublishRequest(s.directGetSubject, inbox, body); err != nil {
		return batchEnd{}, fmt.Errorf("direct get: %w", err)
	}
	last := seq - 1
	for {
		msg, err := sub.NextMsgWithContext(rctx)
		if err != nil {
			if ctx.Err() != nil {
				return batchEnd{}, fmt.Errorf("direct get %s after %d: %w", subject, last, ctx.Err())
			}
			if rctx.Err() != nil {
				return batchEnd{}, errReplicaTimeout
			}
			if errors.Is(err, nats.ErrNoResponders) && last == seq-1 {
				// No replica serves direct gets at the moment (a node
				// just restarted; nats.go turns the server's 503 status
				// into this error on a sync subscription): the leader
				// will answer, as for the 503 status below.
				return batchEnd{Empty: true}, nil
			}
			return batchEnd{}, fmt.Errorf("direct get %s after %d: %w", subject, last, err)
		}
		if status := msg.Header.Get(hdrStatus); status != "" && len(msg.Data) == 0 {
			switch status {
			case "204": // EOB
				pending, err := strconv.ParseUint(msg.Header.Get(hdrNumPending), 10, 64)
				if err != nil {
					return batchEnd{}, fmt.Errorf("direct get: end of batch without pending count: %w", err)
				}
				return batchEnd{Pending: pending}, nil
			case "404":
				return batchEnd{Empty: true}, nil
			case "503":
				// No replica serves direct gets at the moment (e.g. all
				// of them just restarted): the leader will answer.
				return batchEnd{Empty: true}, nil
			}
			return batchEnd{}, fmt.Errorf("direct get: status %s %s", status, msg.Header.Get(hdrDescription))
		}
		if msg.Header.Get(jetstream.StreamHeader) != s.stream {
			return batchEnd{Foreign: true}, nil
		}
		n, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return batchEnd{}, fmt.Errorf("direct get: reply without sequence: %w", err)
		}
		if n <= last {
			return batchEnd{}, fmt.Errorf("direct get: sequence %d after %d: replies out of order", n, last)
		}
		last = n
		// A malformed time stays zero: nothing decides on it.
		at, _ := time.Parse(time.RFC3339Nano, msg.Header.Get(jetstream.TimeStampHeaer))
		if err := fn(rawMsg{Seq: n, Time: at, Data: msg.Data, Header: msg.Header}); err != nil {
			return batchEnd{}, err
		}
	}
}
