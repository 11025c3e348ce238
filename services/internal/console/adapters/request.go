// Package adapters implements the console's ports (console/app) on
// Roster's public interfaces: the services' NATS requests (roster.webhook.*,
// roster.query.*, $SRV.PING), the projection's status and the consumers'
// info, and ROSTER_EVENTS through the event store's range reader. The
// audit trail is read through audit.Queries, which is app.Trail as it is.
package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rosterhq/roster/services/internal/console/app"
)

// Requester sends the services' requests on one connection.
type Requester struct {
	NC *nats.Conn
	// Timeout bounds each request (default 10s; an endpoint test may take
	// the endpoint's timeout, at most 60s, see TestTimeout).
	Timeout time.Duration
}

// TestTimeout bounds an endpoint test: the longest endpoint timeout plus
// room for the reply.
const TestTimeout = 65 * time.Second

// request sends req as JSON to subject and decodes a success reply into
// out; an error reply is an *app.ServiceError with its code and message.
func (r Requester) request(ctx context.Context, subject string, timeout time.Duration, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if timeout == 0 {
		timeout = r.Timeout
	}
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := r.NC.RequestWithContext(rctx, subject, body)
	if err != nil {
		return fmt.Errorf("%s: %w", subject, err)
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &e); err != nil {
		return fmt.Errorf("%s: reply is not JSON: %w", subject, err)
	}
	if e.Error != nil {
		return &app.ServiceError{Subject: subject, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(msg.Data, out); err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
	}
	return nil
}
