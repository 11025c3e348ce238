package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/services/internal/audit"
)

// roster audit: read the trail through its query use cases (audit.Queries,
// wired to ClickHouse by audit.OpenQueries, in this process: not over NATS)
// and apply its DDL.

type auditFlags struct {
	dsn, database                        string
	group, user, endpoint, event, evType string
	status, class, since, until          string
	limit                                int
	final                                bool
}

func addAuditVerbs(root *cobra.Command, g *globals) {
	a := findOrAdd(root, "audit", "Read the audit trail in ClickHouse and manage its schema")
	f := &auditFlags{}
	def := os.Getenv("ROSTER_CLICKHOUSE_DSN")
	if def == "" {
		def = audit.DefaultDSN + "/" + audit.DefaultDatabase
	}
	a.PersistentFlags().StringVar(&f.dsn, "clickhouse-dsn", def, "ClickHouse DSN ($ROSTER_CLICKHOUSE_DSN)")
	a.PersistentFlags().StringVar(&f.database, "database", "", "database (default: the DSN's, else roster)")

	a.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Create database roster and apply the audit DDL (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(c.Context(), g.timeout+30*time.Second)
			defer cancel()
			res, err := audit.Migrate(ctx, f.config())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			fmt.Fprintf(g.out, "database %s: applied %v, already present %v\n", res.Database, res.Applied, res.Present)
			return nil
		},
	})
	verb := func(use, short string, run func(ctx context.Context, q audit.Queries, flt audit.Filter) error) {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				flt, err := f.filter(time.Now())
				if err != nil {
					return err
				}
				q, closeTrail, err := audit.OpenQueries(f.config())
				if err != nil {
					return err
				}
				defer closeTrail()
				ctx, cancel := context.WithTimeout(c.Context(), g.timeout)
				defer cancel()
				return run(ctx, q, flt)
			},
		}
		fl := c.Flags()
		fl.StringVar(&f.group, "group", "", "group id")
		fl.StringVar(&f.user, "user", "", "actor (user id, or system)")
		fl.StringVar(&f.endpoint, "endpoint", "", "endpoint id")
		fl.StringVar(&f.event, "event", "", "event id")
		fl.StringVar(&f.evType, "type", "", "event type, e.g. member.invited")
		fl.StringVar(&f.status, "status", "", "command outcome, delivery state or endpoint change")
		fl.StringVar(&f.class, "class", "", "delivery failure class")
		fl.StringVar(&f.since, "since", "", "from this time (RFC 3339, or a duration back from now: 1h)")
		fl.StringVar(&f.until, "until", "", "before this time (RFC 3339, or a duration back from now)")
		fl.IntVar(&f.limit, "limit", 100, "at most this many rows")
		if use == "deliveries" {
			fl.BoolVar(&f.final, "final", false, "one row per delivery (endpoint and event): its latest attempt, the state it has come to; --status and --class filter on that row")
		}
		a.AddCommand(c)
	}
	verb("commands", "Commands received: who did what, accepted or rejected", func(ctx context.Context, q audit.Queries, flt audit.Filter) error {
		rows, err := q.Commands(ctx, flt)
		if err != nil || g.json {
			return orJSON(g, rows, err)
		}
		return printTable(g, []string{"RECEIVED", "GROUP", "ACTOR", "SUBJECT", "OUTCOME", "ERROR", "VERSION", "LATENCY"}, len(rows), func(i int) []string {
			c := rows[i]
			return []string{ts(c.ReceivedAt), c.GroupID, c.Actor, strings.TrimPrefix(c.Subject, "roster.cmd."), c.Outcome,
				join(c.ErrorCode, c.ErrorMsg), fmt.Sprint(c.Version), us(c.LatencyUS)}
		})
	})
	verb("events", "Events appended to groups", func(ctx context.Context, q audit.Queries, flt audit.Filter) error {
		rows, err := q.Events(ctx, flt)
		if err != nil || g.json {
			return orJSON(g, rows, err)
		}
		return printTable(g, []string{"OCCURRED", "GROUP", "VERSION", "TYPE", "ACTOR", "ID", "DATA"}, len(rows), func(i int) []string {
			e := rows[i]
			return []string{ts(e.OccurredAt), e.GroupID, fmt.Sprint(e.Version), e.Type, e.Actor, e.ID, clip(e.Data, 60)}
		})
	})
	verb("deliveries", "Webhook delivery attempts and what each receiver answered", func(ctx context.Context, q audit.Queries, flt audit.Filter) error {
		rows, err := q.Deliveries(ctx, flt)
		if err != nil || g.json {
			return orJSON(g, rows, err)
		}
		return printTable(g, []string{"STARTED", "ENDPOINT", "EVENT", "TYPE", "#", "TRIGGER", "REPEAT", "STATUS", "CLASS", "STATE", "LATENCY", "RESPONSE"}, len(rows), func(i int) []string {
			d := rows[i]
			repeat := ""
			if d.Repeat {
				repeat = "repeat"
			}
			return []string{ts(d.StartedAt), d.EndpointID, d.EventID, d.EventType, fmt.Sprint(d.Attempt), d.Trigger, repeat,
				fmt.Sprint(d.ResponseStatus), d.FailureClass, d.State, us(d.LatencyUS), clip(d.ResponseBody, 40)}
		})
	})
	verb("endpoints", "Endpoint changes: created, updated, paused, resumed, deleted, secret rotated", func(ctx context.Context, q audit.Queries, flt audit.Filter) error {
		rows, err := q.EndpointChanges(ctx, flt)
		if err != nil || g.json {
			return orJSON(g, rows, err)
		}
		return printTable(g, []string{"AT", "ENDPOINT", "CHANGE", "ACTOR", "AUTOMATIC", "GROUP", "REASON"}, len(rows), func(i int) []string {
			c := rows[i]
			return []string{ts(c.At), c.EndpointID, c.Change, c.Actor, fmt.Sprint(c.Automatic), c.GroupID, c.Reason}
		})
	})
}

func (f *auditFlags) config() audit.ClickHouseConfig {
	return audit.ClickHouseConfig{DSN: f.dsn, Database: f.database}
}

func (f *auditFlags) filter(now time.Time) (audit.Filter, error) {
	since, err := parseWhen(f.since, now)
	if err != nil {
		return audit.Filter{}, fmt.Errorf("--since: %w", err)
	}
	until, err := parseWhen(f.until, now)
	if err != nil {
		return audit.Filter{}, fmt.Errorf("--until: %w", err)
	}
	return audit.Filter{GroupID: f.group, Actor: f.user, EndpointID: f.endpoint, EventID: f.event, EventType: f.evType,
		Status: f.status, Class: f.class, Since: since, Until: until, Limit: f.limit, Final: f.final}, nil
}

// parseWhen reads an RFC 3339 time or a duration back from now ("1h").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-01-02T15:04:05Z) or a duration (90m)", s)
	}
	return t, nil
}

func orJSON[T any](g *globals, rows []T, err error) error {
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []T{}
	}
	return g.printJSON(rows)
}

func printTable(g *globals, head []string, n int, row func(int) []string) error {
	w := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for i := 0; i < n; i++ {
		fmt.Fprintln(w, strings.Join(row(i), "\t"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(g.out, "(no rows)")
	}
	return nil
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }
func us(v int64) string     { return (time.Duration(v) * time.Microsecond).String() }

func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + ": " + b
}

// clip shortens s for a table cell; --json has the full value.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "\t", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
