// Package edge is Roster's one NATS request/reply edge. Every micro service
// (roster-groups, roster-query, roster-webhooks) serves its subjects
// through it, so all of them
//
//   - refuse oversize bodies and headers before anything else runs;
//   - decode request bodies with events/wire, the one strict decoder
//     (docs/adr/0054);
//   - run each request off micro's subscription goroutine, at most
//     MaxInFlight at once, on a pool of workers that outlive their request,
//     and answer on the reply subject from there (micro calls a handler one
//     request at a time per endpoint, and its Request may not be used after
//     the handler returned);
//   - map errors to the wire in one way: the body
//     {"error":{"code":"<events.Code>","message":"..."}} and micro's headers
//     Nats-Service-Error-Code (the numeric status of Status) and
//     Nats-Service-Error ("<code>: <message>"). A transport failure without
//     a code is "unavailable", which callers retry; an internal error's
//     detail stays in the log and the caller reads "internal error".
//
// Because replies are published by the worker, micro's own endpoint stats
// count requests but not errors or latency; each service's Prometheus
// metrics carry those.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/wire"
	"github.com/rosterhq/roster/services/internal/natsx"
	"github.com/rosterhq/roster/services/internal/runners"
)

// Defaults of Config.
const (
	DefaultMaxInFlight     = 256
	DefaultMaxRequestBytes = 1 << 20
	DefaultMaxHeaderBytes  = 4 << 10
	DefaultTimeout         = 30 * time.Second
)

// Config configures an Edge.
type Config struct {
	// NC publishes the replies.
	NC *nats.Conn
	// Log receives internal and unavailable failures and failed replies.
	Log zerolog.Logger
	// MaxInFlight bounds the requests running at once (default
	// DefaultMaxInFlight); the next request waits for a slot, which is
	// back-pressure on micro's subscription.
	MaxInFlight int
	// MaxRequestBytes refuses larger bodies as invalid_argument (default
	// DefaultMaxRequestBytes).
	MaxRequestBytes int
	// MaxHeaderBytes refuses requests whose headers, names and values, are
	// larger in total as invalid_argument (default DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// Timeout bounds one request's context (default DefaultTimeout).
	Timeout time.Duration
	// Refused, when set, is told of every request the edge refuses before
	// its handler runs (an oversize body or headers) and returns the error
	// the caller is answered with. A service that must account for every
	// request, as roster-groups records each refusal in the audit trail
	// (docs/adr/0025), does it there; nil answers with err itself.
	Refused func(ctx context.Context, name string, req Request, err error) error
}

func (c *Config) setDefaults() {
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.NC == nil {
		errs = append(errs, errors.New("edge: NC is required"))
	}
	if c.MaxInFlight < 0 || c.MaxRequestBytes < 0 || c.MaxHeaderBytes < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("edge: limits must not be negative"))
	}
	return errors.Join(errs...)
}

// Request is one request as a use case sees it.
type Request struct {
	Subject string
	Data    []byte
	Header  nats.Header
}

// Reply is a successful answer: Body is encoded with encoding/json unless it
// is already []byte; Header, when set, is sent with it.
type Reply struct {
	Body   any
	Header nats.Header
}

// HandlerFunc answers one request. An error is mapped to the wire by Code.
type HandlerFunc func(ctx context.Context, req Request) (Reply, error)

// Edge serves requests on a bounded pool of workers.
type Edge struct {
	cfg Config
	// sem holds one slot per request running (MaxInFlight): the handler
	// waits for a slot, which is back-pressure on micro's subscription.
	sem chan struct{}
	// work runs requests on reused workers (services/internal/runners).
	work *runners.Pool
	wg   sync.WaitGroup
}

// workerIdle is how long a worker without a request waits for the next
// before it ends. A request is handed to a waiting worker when there is
// one and starts a new worker otherwise, so under load the workers (and
// the stacks they have grown) are reused: a goroutine per request spent
// about a tenth of the command service's CPU growing fresh stacks
// (docs/performance.md, issue 14). Busy workers never exceed MaxInFlight
// (each holds a slot of sem); idle ones end after workerIdle.
const workerIdle = 5 * time.Second

// New validates cfg and returns an Edge.
func New(cfg Config) (*Edge, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Edge{cfg: cfg, sem: make(chan struct{}, cfg.MaxInFlight), work: runners.New(workerIdle)}, nil
}

// Handler adapts h to micro. name labels log lines. It is AsyncHandler
// with h answering before it returns.
func (e *Edge) Handler(name string, h HandlerFunc) micro.HandlerFunc {
	return e.AsyncHandler(name, answered(h))
}

// answered is h as an AsyncHandlerFunc that answers before returning.
func answered(h HandlerFunc) AsyncHandlerFunc {
	return func(ctx context.Context, req Request, done func(Reply, error)) { done(h(ctx, req)) }
}

// AsyncHandlerFunc answers one request through done, called exactly once,
// from any goroutine, possibly after the handler has returned: a use case
// that waits for something (a JetStream ack) without a goroutine waiting
// for it. ctx stays live until done is called.
type AsyncHandlerFunc func(ctx context.Context, req Request, done func(Reply, error))

// AsyncHandler adapts h to micro like Handler does. The request holds its
// slot of MaxInFlight until done is called, not until h returns, so the
// bound on requests in flight holds; the worker is free as soon as h
// returns. The reply is published from done's goroutine.
func (e *Edge) AsyncHandler(name string, h AsyncHandlerFunc) micro.HandlerFunc {
	return func(mr micro.Request) {
		req := Request{Subject: mr.Subject(), Data: mr.Data(), Header: nats.Header(mr.Headers())}
		reply := mr.Reply()
		e.acquire()
		e.work.Go(func() {
			ctx := newRequestContext(e.cfg.Timeout)
			e.answerAsync(ctx, name, req, h, func(msg *nats.Msg) {
				ctx.end()
				defer e.release()
				if reply == "" {
					return // published without a reply subject: nobody to answer
				}
				msg.Subject = reply
				if err := e.cfg.NC.PublishMsg(msg); err != nil {
					e.cfg.Log.Warn().Err(err).Str("endpoint", name).Msg("reply failed")
				}
			})
		})
	}
}

// answerAsync is Answer for an AsyncHandlerFunc: send gets the reply
// message (without a subject), exactly once.
func (e *Edge) answerAsync(ctx context.Context, name string, req Request, h AsyncHandlerFunc, send func(*nats.Msg)) {
	if err := e.refusal(req); err != nil {
		if e.cfg.Refused != nil {
			err = e.cfg.Refused(ctx, name, req, err)
		}
		send(e.replyMsg(name, Reply{}, err))
		return
	}
	h(ctx, req, func(rep Reply, err error) { send(e.replyMsg(name, rep, err)) })
}

// acquire takes a slot of MaxInFlight, waiting for one: back-pressure on
// the subscription calling the handler.
func (e *Edge) acquire() {
	e.sem <- struct{}{}
	e.wg.Add(1)
}

// release frees a slot taken by acquire.
func (e *Edge) release() {
	<-e.sem
	e.wg.Done()
}

// Answer runs h on req after the size checks and returns the reply message
// (without a subject). It is what Handler's workers run; tests and
// in-process callers may call it directly.
func (e *Edge) Answer(ctx context.Context, name string, req Request, h HandlerFunc) *nats.Msg {
	var msg *nats.Msg
	e.answerAsync(ctx, name, req, answered(h), func(m *nats.Msg) { msg = m })
	return msg
}

// replyMsg is the message answering with rep, or with err when it is set.
func (e *Edge) replyMsg(name string, rep Reply, err error) *nats.Msg {
	if err == nil {
		msg, encErr := ReplyMsg(rep)
		if encErr == nil {
			return msg
		}
		err = fmt.Errorf("encode reply: %w", encErr)
	}
	code := Code(err)
	if code == events.CodeInternal || code == events.CodeUnavailable {
		e.cfg.Log.Error().Err(err).Str("endpoint", name).Str("code", string(code)).Msg("request failed")
	}
	return ErrorMsg(err)
}

// refusal is why req is refused before any handler runs, nil when it is not.
func (e *Edge) refusal(req Request) error {
	if len(req.Data) > e.cfg.MaxRequestBytes {
		return events.Errorf(events.CodeInvalidArgument, "request larger than %d bytes", e.cfg.MaxRequestBytes)
	}
	if n := HeaderBytes(req.Header); n > e.cfg.MaxHeaderBytes {
		return events.Errorf(events.CodeInvalidArgument, "headers: %d bytes, at most %d", n, e.cfg.MaxHeaderBytes)
	}
	return nil
}

// Wait blocks until every request started so far has been answered. Call it
// after stopping the micro service.
func (e *Edge) Wait() { e.wg.Wait() }

// Decode strictly decodes a request body into v with events/wire.
func Decode(data []byte, v any) error { return wire.Decode(data, v) }

// JSON adapts a use case that takes a decoded request to a HandlerFunc: the
// body is decoded strictly into a new Req, and the use case's result is the
// reply body.
func JSON[Req any, Resp any](fn func(ctx context.Context, req *Req) (Resp, error)) HandlerFunc {
	return func(ctx context.Context, r Request) (Reply, error) {
		req := new(Req)
		if err := Decode(r.Data, req); err != nil {
			return Reply{}, err
		}
		resp, err := fn(ctx, req)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Body: resp}, nil
	}
}

// Parsed adapts a use case to a HandlerFunc with its own parse: parse
// checks the body as the subject's JSON Schema does (strictly decoded
// with events/wire), the use case's result is the reply body.
func Parsed[Req any, Resp any](parse func([]byte) (Req, error), use func(context.Context, Req) (Resp, error)) HandlerFunc {
	return func(ctx context.Context, r Request) (Reply, error) {
		req, err := parse(r.Data)
		if err != nil {
			return Reply{}, err
		}
		resp, err := use(ctx, req)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Body: resp}, nil
	}
}

// ReplyMsg encodes a successful reply.
func ReplyMsg(r Reply) (*nats.Msg, error) {
	msg := &nats.Msg{Header: r.Header}
	switch b := r.Body.(type) {
	case []byte:
		msg.Data = b
	case json.RawMessage:
		msg.Data = b
	default:
		data, err := json.Marshal(r.Body)
		if err != nil {
			return nil, err
		}
		msg.Data = data
	}
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	return msg, nil
}

// ErrorBody is the body of every failure reply.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a failure's code and message.
type ErrorDetail struct {
	Code    events.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// ErrorMsg encodes err as a failure reply (without a subject).
func ErrorMsg(err error) *nats.Msg {
	code, text := Code(err), Message(err)
	msg := nats.NewMsg("")
	d := ErrorDetail{Code: code, Message: text}
	var e *events.Error
	if code != events.CodeInternal && errors.As(err, &e) {
		d.Details = e.Details
	}
	msg.Data, _ = json.Marshal(ErrorBody{Error: d})
	msg.Header.Set(micro.ErrorCodeHeader, Status(code))
	msg.Header.Set(micro.ErrorHeader, string(code)+": "+text)
	return msg
}

// Code is err's wire code. A failure without a code that says NATS or
// JetStream could not answer (no responders, a timeout, a closed
// connection, a stream leader unavailable) is "unavailable", which callers
// retry, never "internal".
func Code(err error) events.Code {
	c := events.CodeOf(err)
	if c == events.CodeInternal && natsx.Unavailable(err) {
		return events.CodeUnavailable
	}
	return c
}

// Message is the text a caller reads for err: "internal error" for any
// internal failure, typed or not (the detail may name internals and stays
// in the log), a typed error's message, and the error's text for an
// untyped "unavailable".
func Message(err error) string {
	code := Code(err)
	if code == events.CodeInternal {
		return "internal error" // typed or not: the detail stays in the log
	}
	var e *events.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// Status maps a code to the numeric Nats-Service-Error-Code.
func Status(c events.Code) string {
	switch c {
	case events.CodeInvalidArgument:
		return "400"
	case events.CodeForbidden, events.CodePolicyDenied:
		return "403"
	case events.CodeNotFound:
		return "404"
	case events.CodeAlreadyExists, events.CodeConflict:
		return "409"
	case events.CodeFailedPrecondition:
		return "412"
	case events.CodeUnavailable, events.CodePolicyUnavailable:
		return "503"
	case events.CodeTimeout:
		return "504"
	}
	return "500"
}

// HeaderBytes is the size of h as its names and values, as on the wire.
func HeaderBytes(h nats.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF
		}
	}
	return n
}
