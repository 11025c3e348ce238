package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/rosterhq/roster/services/internal/audit/adapters/memory"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// listOnly is the part of roster-webhooks the overview asks.
type listOnly struct {
	Webhooks
	eps []endpoint.Endpoint
}

func (l listOnly) List(context.Context) ([]endpoint.Endpoint, error) { return l.eps, nil }

type quietStatus struct{}

func (quietStatus) Services(_ context.Context, names []string) []ServiceStatus {
	out := make([]ServiceStatus, len(names))
	for i, n := range names {
		out[i] = ServiceStatus{Name: n, Up: true}
	}
	return out
}
func (quietStatus) Projection(context.Context) (Projection, error)     { return Projection{}, nil }
func (quietStatus) AuditLag(context.Context) (AuditLag, error)         { return AuditLag{}, nil }
func (quietStatus) QueueDepth(context.Context, string) (uint64, error) { return 7, nil }

// TestOverviewPagesPausedFirst: paused endpoints come first on the first
// page, the rest by id, PageSize a page; each line has its last hour's
// figures from the trail (the in-memory store, the trail's contract twin).
func TestOverviewPagesPausedFirst(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var eps []endpoint.Endpoint
	for i := range PageSize + 10 {
		ep := endpoint.Endpoint{ID: fmt.Sprintf("ep%03d", i), State: endpoint.StateActive}
		if i == 30 || i == 55 {
			ep.State, ep.PausedReason = endpoint.StatePaused, "3 consecutive failed attempts"
		}
		eps = append(eps, ep)
	}
	trail := memory.New()
	if err := trail.Insert(context.Background(), []record.Record{
		record.DeliveryAttempt{ID: "a1", EventID: "e1", EndpointID: "ep030", Attempt: 1, Trigger: "scheduled", FailureClass: "invalid_response",
			StartedAt: now.Add(-time.Minute), LatencyUS: 2000, State: "retrying", ResponseStatus: 200},
		record.DeliveryAttempt{ID: "a2", EventID: "e2", EndpointID: "ep030", Attempt: 1, Trigger: "scheduled", Success: true,
			StartedAt: now.Add(-30 * time.Second), LatencyUS: 1000, State: "succeeded", ResponseStatus: 200},
		record.DeliveryAttempt{ID: "a0", EventID: "e0", EndpointID: "ep030", Attempt: 1, Trigger: "scheduled", Success: true,
			StartedAt: now.Add(-2 * time.Hour), LatencyUS: 1000, State: "succeeded", ResponseStatus: 200},
	}); err != nil {
		t.Fatal(err)
	}
	a := &App{Webhooks: listOnly{eps: eps}, Status: quietStatus{}, Trail: trail, Clock: clockwork.NewFakeClockAt(now), Services: []string{"roster-groups"}}
	o := a.Overview(context.Background(), 1)
	if o.Total != PageSize+10 || o.Paused != 2 || !o.HasNext || len(o.Endpoints) != PageSize {
		t.Fatalf("page 1: want %d of %d endpoints, 2 paused, a next page; have %d of %d, %d paused, next %v", PageSize, PageSize+10, len(o.Endpoints), o.Total, o.Paused, o.HasNext)
	}
	if o.Endpoints[0].Endpoint.ID != "ep030" || o.Endpoints[1].Endpoint.ID != "ep055" || o.Endpoints[2].Endpoint.ID != "ep000" {
		t.Fatalf("order: want ep030, ep055 (paused), then ep000, have %s %s %s", o.Endpoints[0].Endpoint.ID, o.Endpoints[1].Endpoint.ID, o.Endpoints[2].Endpoint.ID)
	}
	st := o.Endpoints[0].Stats
	if st.Attempts != 2 || st.SuccessRate() != 50 || st.LastFailureClass != "invalid_response" || st.P99 != 2*time.Millisecond || o.Endpoints[0].QueueDepth != 7 {
		t.Fatalf("ep030's last hour: %+v, queue %d", st, o.Endpoints[0].QueueDepth)
	}
	o2 := a.Overview(context.Background(), 2)
	if len(o2.Endpoints) != 10 || o2.HasNext || o2.Endpoints[9].Endpoint.ID != "ep059" {
		t.Fatalf("page 2: want the last 10, have %d (next %v)", len(o2.Endpoints), o2.HasNext)
	}
}
