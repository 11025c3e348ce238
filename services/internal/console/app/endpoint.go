package app

import (
	"context"
	"slices"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/webhook/endpoint"
)

// EndpointPage is the endpoint page: its settings, its figures over the
// last Window, and its attempts, newest first, one page of them.
type EndpointPage struct {
	Endpoint   endpoint.Endpoint
	QueueDepth uint64
	Stats      Stats
	Series     Series
	Histogram  Histogram
	Attempts   []record.DeliveryAttempt
	Page       int
	HasNext    bool
	// TableCapped: the table's window held more than TrailCap attempts.
	TableCapped bool
	// Changes are the endpoint's latest changes, newest first.
	Changes  []record.EndpointChange
	TrailErr error
}

// SeriesBucket is the endpoint chart's resolution; TableWindow how far back
// the attempts table reads.
const (
	SeriesBucket = time.Minute
	TableWindow  = 24 * time.Hour
)

// Endpoint reads endpoint id's page; page is the attempts table's page
// (1-based). ErrNotFound when the endpoint does not exist.
func (a *App) Endpoint(ctx context.Context, id string, page int) (EndpointPage, error) {
	ep, err := a.Webhooks.Get(ctx, id)
	if err != nil {
		return EndpointPage{}, err
	}
	p := EndpointPage{Endpoint: ep, Page: max(page, 1)}
	p.QueueDepth, _ = a.Status.QueueDepth(ctx, id)
	now := a.Clock.Now()
	since := now.Add(-Window)
	// The figures cover the last Window; the attempts table the last
	// TableWindow (the audit queries read oldest first, so a window beyond
	// TrailCap rows shows its oldest rows and says so).
	recent, err := a.Trail.Deliveries(ctx, Filter{EndpointID: id, Since: since, Limit: TrailCap})
	if err != nil {
		p.TrailErr = err
		return p, nil
	}
	p.Stats = ComputeStats(recent)
	p.Series = ComputeSeries(recent, since, now, SeriesBucket)
	p.Histogram = ComputeHistogram(recent)
	rows, err := a.Trail.Deliveries(ctx, Filter{EndpointID: id, Since: now.Add(-TableWindow), Limit: TrailCap})
	if err != nil {
		p.TrailErr = err
		return p, nil
	}
	p.TableCapped = len(rows) >= TrailCap
	newest := slices.Clone(rows)
	slices.Reverse(newest)
	p.Attempts, p.HasNext = Page(newest, p.Page)
	if p.Changes, err = a.Trail.EndpointChanges(ctx, Filter{EndpointID: id, Limit: TrailCap}); err != nil {
		p.TrailErr = err
	}
	slices.Reverse(p.Changes)
	p.Changes = p.Changes[:min(len(p.Changes), 20)]
	return p, nil
}
