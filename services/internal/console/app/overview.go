package app

import (
	"context"
	"slices"
	"strings"

	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// Overview is the console's front page: is the stack up, how far behind are
// its readers, and how is every endpoint doing.
type Overview struct {
	Services      []ServiceStatus
	Projection    Projection
	ProjectionErr error
	AuditLag      AuditLag
	AuditLagErr   error
	// Endpoints is one page of them (paused first); Total and Paused
	// count all.
	Endpoints     []EndpointSummary
	Page          int
	HasNext       bool
	Total, Paused int
	EndpointsErr  error
	// TrailErr: the figures could not be read from the audit trail.
	TrailErr error
}

// EndpointSummary is one endpoint's line on the overview.
type EndpointSummary struct {
	Endpoint      endpoint.Endpoint
	Stats         Stats
	QueueDepth    uint64
	QueueDepthErr error
}

// Overview reads the overview with page of the endpoints. Each source that
// fails is reported in its own field: one service down must not blank the
// page.
func (a *App) Overview(ctx context.Context, page int) Overview {
	o := Overview{Page: max(page, 1)}
	o.Services = a.Status.Services(ctx, a.Services)
	o.Projection, o.ProjectionErr = a.Status.Projection(ctx)
	o.AuditLag, o.AuditLagErr = a.Status.AuditLag(ctx)
	eps, err := a.Webhooks.List(ctx)
	if err != nil {
		o.EndpointsErr = err
		return o
	}
	now := a.Clock.Now()
	rows, err := a.Trail.Deliveries(ctx, Filter{Since: now.Add(-Window), Limit: TrailCap})
	if err != nil {
		o.TrailErr = err
	}
	byEndpoint := map[string][]record.DeliveryAttempt{}
	for _, r := range rows {
		byEndpoint[r.EndpointID] = append(byEndpoint[r.EndpointID], r)
	}
	// Paused endpoints first (they need someone), then by id.
	slices.SortStableFunc(eps, func(x, y endpoint.Endpoint) int {
		if px, py := x.Paused(), y.Paused(); px != py {
			if px {
				return -1
			}
			return 1
		}
		return strings.Compare(x.ID, y.ID)
	})
	o.Total = len(eps)
	for _, ep := range eps {
		if ep.Paused() {
			o.Paused++
		}
	}
	var shown []endpoint.Endpoint
	shown, o.HasNext = Page(eps, o.Page)
	for _, ep := range shown {
		s := EndpointSummary{Endpoint: ep}
		s.Stats = ComputeStats(byEndpoint[ep.ID])
		// The cap is on the one query for every endpoint.
		s.Stats.Capped = len(rows) >= TrailCap
		s.QueueDepth, s.QueueDepthErr = a.Status.QueueDepth(ctx, ep.ID)
		o.Endpoints = append(o.Endpoints, s)
	}
	return o
}
