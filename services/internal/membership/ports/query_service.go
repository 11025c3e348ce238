// Package ports is the membership read side's transport: the roster-query
// micro service, served through natsx/edge, calling the app's query use
// cases and nothing else.
package ports

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// Query subjects and the micro service name (public contract).
const (
	ServiceName       = "roster-query"
	SubjectGroup      = "roster.query.group"
	SubjectMembers    = "roster.query.members"
	SubjectMember     = "roster.query.member"
	SubjectUserGroups = "roster.query.user_groups"
	SubjectChanges    = "roster.query.changes"
)

// MaxRequestBytes caps a query's body: every query is a few ids and
// numbers.
const MaxRequestBytes = 64 << 10

// QueryService is roster-query registered on a NATS connection.
type QueryService struct {
	svc  micro.Service
	edge *edge.Edge
}

// StartQueryService registers roster-query's endpoints on nc, each
// answered by q through e and counted in m. A request still running when
// base ends is cancelled, so stopping the service does not wait out parked
// waits.
func StartQueryService(base context.Context, nc *nats.Conn, e *edge.Edge, q *app.Queries, m *Metrics) (*QueryService, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        ServiceName,
		Version:     "1.0.0",
		Description: "Roster membership queries, answered from the projection",
	})
	if err != nil {
		return nil, fmt.Errorf("add service %s: %w", ServiceName, err)
	}
	s := &QueryService{svc: svc, edge: e}
	for _, ep := range []struct {
		name, subject string
		h             edge.HandlerFunc
	}{
		{"group", SubjectGroup, edge.JSON(q.Group)},
		{"members", SubjectMembers, edge.JSON(q.Members)},
		{"member", SubjectMember, edge.JSON(q.Member)},
		{"user_groups", SubjectUserGroups, edge.JSON(q.UserGroups)},
		{"changes", SubjectChanges, edge.JSON(q.Changes)},
	} {
		if err := svc.AddEndpoint(ep.name, e.Handler(ep.name, m.observe(ep.name, within(base, ep.h))), micro.WithEndpointSubject(ep.subject)); err != nil {
			s.Stop()
			return nil, fmt.Errorf("endpoint %s: %w", ep.subject, err)
		}
	}
	return s, nil
}

// Stop unregisters the service and waits for the requests it started.
func (s *QueryService) Stop() {
	_ = s.svc.Stop()
	s.edge.Wait()
}

// within ends h's context when base ends.
func within(base context.Context, h edge.HandlerFunc) edge.HandlerFunc {
	return func(ctx context.Context, r edge.Request) (edge.Reply, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(base, cancel)()
		return h(ctx, r)
	}
}

// observe counts h's outcomes and latency under endpoint name.
func (m *Metrics) observe(name string, h edge.HandlerFunc) edge.HandlerFunc {
	latency := m.Latency.WithLabelValues(name)
	return func(ctx context.Context, r edge.Request) (edge.Reply, error) {
		start := time.Now()
		rep, err := h(ctx, r)
		latency.Observe(time.Since(start).Seconds())
		code := "ok"
		if err != nil {
			code = string(edge.Code(err))
		}
		m.Requests.WithLabelValues(name, code).Inc()
		return rep, err
	}
}
