package membership

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/membership/adapters/jsevents"
	"github.com/rosterhq/roster/services/internal/membership/adapters/kvmodel"
	"github.com/rosterhq/roster/services/internal/membership/app"
	"github.com/rosterhq/roster/services/internal/membership/ports"
	"github.com/rosterhq/roster/services/internal/natsx/edge"
)

// The "query" process role: roster-query (ports) answering with the query
// use cases (app) from the active generation of the KV read model and the
// event stream (adapters).

// QueryConfig configures the roster-query service.
type QueryConfig struct {
	NC  *nats.Conn
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Store is used only to create the control bucket when the query
	// service starts before any projector.
	Store StoreConfig
	// MaxWait, MaxInFlight, MaxWaiting and MaxVersionAhead are the query
	// limits of app.QueriesConfig (defaults: 5s, 256, DefaultMaxWaiting,
	// DefaultMaxVersionAhead); the edge admits MaxInFlight + MaxWaiting.
	MaxWait         time.Duration
	MaxInFlight     int
	MaxWaiting      int
	MaxVersionAhead uint64
	// Clock times min_version waits and the retry of opening a generation
	// (default the real clock).
	Clock clockwork.Clock
	// Metrics receives roster-query's collectors (roster_query_*); nil
	// registers them on a private registry.
	Metrics prometheus.Registerer
}

func (c *QueryConfig) setDefaults() {
	c.Store.SetDefaults()
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
}

// Validate reports every problem with c.
func (c QueryConfig) Validate() error {
	var errs []error
	if c.NC == nil {
		errs = append(errs, errors.New("NC is required"))
	}
	if c.JS == nil {
		errs = append(errs, errors.New("JS is required"))
	}
	// The limits (MaxWait, MaxInFlight, MaxWaiting, MaxVersionAhead) get
	// their defaults and checks from app.QueriesConfig, their one owner.
	return errors.Join(errs...)
}

// Queries is the roster-query process role. Safe for concurrent use once
// Run has started.
type Queries struct {
	cfg     QueryConfig
	app     *app.Queries
	metrics *ports.Metrics
	active  atomic.Pointer[kvmodel.Model]

	// serving: every roster-query endpoint is registered (Ready).
	serving atomic.Bool
}

// activeModels is app.Models over the generation Run follows.
type activeModels struct{ q *Queries }

func (a activeModels) Active() app.ModelReader {
	if m := a.q.active.Load(); m != nil {
		return m
	}
	return nil
}

// Ready reports whether Run serves roster-query (every endpoint
// registered, not yet stopping).
func (q *Queries) Ready() bool { return q.serving.Load() }

// NewQueries validates cfg.
func NewQueries(cfg QueryConfig) (*Queries, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("query config: %w", err)
	}
	q := &Queries{cfg: cfg}
	a, err := app.NewQueries(app.QueriesConfig{
		Models: activeModels{q}, History: jsevents.NewHistory(cfg.JS), Clock: cfg.Clock,
		MaxWait: cfg.MaxWait, MaxInFlight: cfg.MaxInFlight, MaxWaiting: cfg.MaxWaiting, MaxVersionAhead: cfg.MaxVersionAhead,
	})
	if err != nil {
		return nil, fmt.Errorf("query config: %w", err)
	}
	q.app = a
	// The limits as the app defaulted them: the edge below admits as many.
	lim := a.Config()
	q.cfg.MaxWait, q.cfg.MaxInFlight, q.cfg.MaxWaiting, q.cfg.MaxVersionAhead = lim.MaxWait, lim.MaxInFlight, lim.MaxWaiting, lim.MaxVersionAhead
	if q.metrics, err = ports.NewMetrics(cfg.Metrics); err != nil {
		return nil, fmt.Errorf("query metrics: %w", err)
	}
	return q, nil
}

// Run follows the active generation and serves roster-query until ctx ends.
func (q *Queries) Run(ctx context.Context) error {
	ctl, err := kvmodel.OpenControl(ctx, q.cfg.JS, q.cfg.Store)
	if err != nil {
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	updates, err := ctl.WatchActive(wctx, false)
	if err != nil {
		return err
	}
	e, err := edge.New(edge.Config{
		NC: q.cfg.NC, Log: q.cfg.Log,
		// Parked min_version waits hold a request goroutine but not a
		// worker slot (app.Queries bounds those), so the edge admits both.
		MaxInFlight:     q.cfg.MaxInFlight + q.cfg.MaxWaiting,
		MaxRequestBytes: ports.MaxRequestBytes,
		Timeout:         q.cfg.MaxWait + 10*time.Second,
	})
	if err != nil {
		return err
	}
	svc, err := ports.StartQueryService(ctx, q.cfg.NC, e, q.app, q.metrics)
	if err != nil {
		return err
	}
	defer svc.Stop()
	q.cfg.Log.Info().Str("service", ServiceName).Msg("serving membership queries")
	q.serving.Store(true)
	defer q.serving.Store(false)
	// want is the generation the pointer names; it is retried until its
	// bucket opens (a pointer can name a bucket this process cannot see yet).
	var want *Generation
	retry := q.cfg.Clock.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-retry.Chan():
		case u, ok := <-updates:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("active generation watch closed")
			}
			if u.Err != nil {
				q.cfg.Log.Error().Err(u.Err).Msg("bad active generation")
				continue
			}
			g := u.Generation
			want = &g
		}
		if want == nil {
			continue
		}
		if cur := q.active.Load(); cur != nil && cur.Generation() == want.Number {
			continue
		}
		m, err := kvmodel.Open(ctx, q.cfg.JS, *want, kvmodel.Options{WatchBase: ctx, Clock: q.cfg.Clock})
		if err != nil {
			q.cfg.Log.Warn().Err(err).Msg("cannot open active generation yet")
			continue
		}
		q.active.Store(m)
		q.cfg.Log.Info().Uint64("generation", want.Number).Msg("queries answer from generation")
	}
}
