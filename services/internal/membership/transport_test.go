package membership

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
	"github.com/rosterhq/roster/services/internal/natsx/natstest"
)

// TestWireCode: roster-query maps errors to wire codes with edge.Code; a
// transport failure is "unavailable" (callers retry), never "internal".
func TestWireCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want events.Code
	}{
		{"no responders (the failover reply)", fmt.Errorf("get member: %w", nats.ErrNoResponders), events.CodeUnavailable},
		{"timeout", nats.ErrTimeout, events.CodeUnavailable},
		{"deadline", context.DeadlineExceeded, events.CodeUnavailable},
		{"connection closed", nats.ErrConnectionClosed, events.CodeUnavailable},
		{"jetstream unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008}, events.CodeUnavailable},
		{"stream between leaders", &jetstream.APIError{Code: 500, ErrorCode: 10009}, events.CodeUnavailable},
		{"typed code kept", events.Errorf(events.CodeNotFound, "group %q", "G"), events.CodeNotFound},
		{"bug stays internal", errors.New("decode member: unexpected end of JSON input"), events.CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if have := edge.Code(tc.err); have != tc.want {
				t.Fatalf("want %s, have %s", tc.want, have)
			}
		})
	}
}

// TestQueryWithoutJetStreamIsUnavailable: while the server's JetStream
// does not answer (disabled: its API has no responders, as during a
// failover), a query that must read the model answers "unavailable",
// which callers retry, not "internal".
func TestQueryWithoutJetStreamIsUnavailable(t *testing.T) {
	f := newFixture(t)
	f.projector(Config{})
	f.queries()
	v := f.do("G", "o", group.Create{Name: "G"})
	if e := f.query(SubjectGroup, GroupRequest{GroupID: "G", MinVersion: v}, nil); e != nil {
		t.Fatalf("before: %+v", e)
	}
	if err := f.srv.NS.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 10*time.Second, func() error {
		// A group never read before: not in any cache, read from KV.
		e := f.query(SubjectGroup, GroupRequest{GroupID: "never-read"}, nil)
		if e == nil || e.Code != string(events.CodeUnavailable) {
			return fmt.Errorf("reply %+v, want code unavailable", e)
		}
		return nil
	})
}
