package ports

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/groups/app"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// SubjectPrefix prefixes every command subject: roster.cmd.<noun>.<verb>.
const SubjectPrefix = "roster.cmd."

// DuplicateHeader is set on a reply that repeats an earlier outcome.
const DuplicateHeader = "Roster-Duplicate"

// endpoint is the edge handler of the command name: headers into the
// request's context and checks, the body into a command, the app's
// result into the reply. It is asynchronous (app.Submit): the edge's
// worker is free once the command's append is sent, and the reply goes
// out when the ack has come (docs/adr/0101).
func (s *Service) endpoint(name string) edge.AsyncHandlerFunc {
	return func(ctx context.Context, req edge.Request, done func(edge.Reply, error)) {
		ctx = withCaller(ctx, req.Header.Get(RequestInfoHeader))
		s.app.Submit(ctx, s.request(name, req.Data, req.Header.Get(CorrelationHeader)), func(res app.Result) { done(reply(res)) })
	}
}

// refused records a request the edge refused before its endpoint ran
// (oversize body or headers) like any other rejection, and answers what
// the trail allows (unavailable when the refusal could not be recorded).
func (s *Service) refused(ctx context.Context, name string, req edge.Request, err error) error {
	if len(req.Data) > s.maxRequestBytes {
		// The text roster-groups has always answered (docs/commands.md):
		// it names the size it saw.
		err = events.Wrap(events.CodeInvalidArgument, err, "payload: %d bytes exceeds the limit of %d", len(req.Data), s.maxRequestBytes)
	}
	return s.app.Execute(ctx, app.Request{
		Name: name, Subject: SubjectPrefix + name, Payload: req.Data,
		Decode: func() (app.Command, error) { return app.Command{}, err },
	}).Err
}

// Execute runs one command given as its request body, as the endpoint
// does after the edge's checks. In-process callers (tests, benchmarks) may
// call it directly: it applies no transport cap.
func (s *Service) Execute(ctx context.Context, name string, data []byte, correlationID string) app.Result {
	return s.app.Execute(ctx, s.request(name, data, correlationID))
}

// request is the app's request for a command's body.
func (s *Service) request(name string, data []byte, correlationID string) app.Request {
	return app.Request{
		Name: name, Subject: SubjectPrefix + name, Payload: data,
		Decode: func() (app.Command, error) { return decode(name, data, correlationID) },
	}
}

// decode checks the request's correlation id and decodes its body.
func decode(name string, data []byte, correlationID string) (app.Command, error) {
	parse, ok := parsers[name]
	if !ok {
		return app.Command{}, events.Errorf(events.CodeInvalidArgument, "unknown command %q", name)
	}
	// Before anything is decided: the id is copied into every event.
	if err := ValidateCorrelationID(correlationID); err != nil {
		return app.Command{}, err
	}
	p, err := parse(data)
	return app.Command{
		Name: name, GroupID: p.GroupID, Actor: p.Actor, CommandID: p.CommandID,
		CorrelationID: correlationID, Change: p.cmd,
	}, err
}

// reply maps a result to the edge: a failure goes through the one error
// convention (edge.ErrorMsg), a repeat of an earlier outcome carries
// DuplicateHeader.
func reply(res app.Result) (edge.Reply, error) {
	if res.Err != nil {
		return edge.Reply{}, res.Err
	}
	body, err := encodeReply(res.Reply)
	if err != nil {
		return edge.Reply{}, err
	}
	r := edge.Reply{Body: body}
	if res.Duplicate {
		r.Header = nats.Header{DuplicateHeader: {"true"}}
	}
	return r, nil
}

// encodeReply is the success body: the bytes json.Marshal writes for r
// (FuzzEncodeReply holds it to that). It is appended by hand on every
// acknowledged command (app.Reply.AppendJSON, ADR 0114); a value off that
// fast path (a string to escape, data to compact) goes to encoding/json.
func encodeReply(r *app.Reply) ([]byte, error) {
	if b, ok := r.AppendJSON(nil); ok {
		return b, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	return b, nil
}
