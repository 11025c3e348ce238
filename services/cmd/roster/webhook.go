package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// roster webhook ...: manage webhook endpoints through roster-webhooks.

const webhookSubject = "roster.webhook.endpoint."

type webhookEndpoint struct {
	ID           string   `json:"id"`
	URL          string   `json:"url"`
	EventTypes   []string `json:"event_types"`
	GroupIDs     []string `json:"group_ids"`
	Format       string   `json:"format"`
	Ordered      bool     `json:"ordered"`
	State        string   `json:"state"`
	PausedReason string   `json:"paused_reason"`
	Timeout      string   `json:"timeout"`
}

func addWebhookVerbs(root *cobra.Command, g *globals) {
	wh := findOrAdd(root, "webhook", "Manage webhook endpoints, test them and redeliver events")

	// create / update share the endpoint flags.
	type epFlags struct {
		id, url, description, format, secretFile, timeout string
		events, groups, schedule                          []string
		rateLimit                                         float64
		ordered, paused                                   bool
	}
	bindEP := func(c *cobra.Command, f *epFlags) {
		c.Flags().StringVar(&f.url, "url", "", "destination URL (http or https); openim endpoints get /{callbackCommand} appended")
		c.Flags().StringVar(&f.description, "description", "", "free text")
		c.Flags().StringVar(&f.format, "format", "", "standard (Standard Webhooks) or openim (OpenIM after-callbacks)")
		c.Flags().StringSliceVar(&f.events, "events", nil, "event types: exact names, namespace wildcards like member.*, or * (default *)")
		c.Flags().StringSliceVar(&f.groups, "groups", nil, "only events of these group ids")
		c.Flags().StringVar(&f.timeout, "timeout", "", "total timeout per attempt, e.g. 15s (max 60s)")
		c.Flags().Float64Var(&f.rateLimit, "rate-limit", 0, "most attempts per second (0: unlimited)")
		c.Flags().StringSliceVar(&f.schedule, "retry-schedule", nil, "delays before each attempt, e.g. 0s,5s,5m,30m (default Svix's)")
		c.Flags().BoolVar(&f.ordered, "ordered", false, "deliver each group's events in version order")
	}
	fill := func(c *cobra.Command, f *epFlags, body map[string]any) {
		set := func(flag, key string, v any) {
			if c.Flags().Changed(flag) {
				body[key] = v
			}
		}
		set("url", "url", f.url)
		set("description", "description", f.description)
		set("format", "format", f.format)
		set("events", "event_types", f.events)
		set("groups", "group_ids", f.groups)
		set("timeout", "timeout", f.timeout)
		set("rate-limit", "rate_limit", f.rateLimit)
		set("retry-schedule", "retry_schedule", f.schedule)
		set("ordered", "ordered", f.ordered)
		set("paused", "paused", f.paused)
	}

	{
		f := &epFlags{}
		c := &cobra.Command{Use: "create", Short: "Create an endpoint; prints its signing secret once", Args: cobra.NoArgs}
		a := actorFlag(c)
		bindEP(c, f)
		c.Flags().StringVar(&f.id, "id", "", "endpoint id (generated when empty)")
		c.Flags().StringVar(&f.secretFile, "secret-file", "", "file holding the whsec_ signing secret, - for stdin (generated when absent; never pass a secret in argv)")
		c.Flags().BoolVar(&f.paused, "paused", false, "create paused (events are queued, not sent)")
		c.RunE = func(c *cobra.Command, _ []string) error {
			if err := needActor(a); err != nil {
				return err
			}
			body := map[string]any{"actor": *a}
			if f.id != "" {
				body["id"] = f.id
			}
			fill(c, f, body)
			if err := secretFrom(c, f.secretFile, body); err != nil {
				return err
			}
			return g.call(c, webhookSubject+"create", body)
		}
		wh.AddCommand(c)
	}
	{
		f := &epFlags{}
		c := &cobra.Command{Use: "update ID", Short: "Change an endpoint (only the flags given)", Args: cobra.ExactArgs(1)}
		a := actorFlag(c)
		bindEP(c, f)
		c.RunE = func(c *cobra.Command, args []string) error {
			if err := needActor(a); err != nil {
				return err
			}
			body := map[string]any{"actor": *a, "id": args[0]}
			fill(c, f, body)
			return g.call(c, webhookSubject+"update", body)
		}
		wh.AddCommand(c)
	}
	wh.AddCommand(&cobra.Command{Use: "get ID", Short: "Show an endpoint", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return g.call(c, webhookSubject+"get", map[string]any{"id": args[0]})
		}})
	wh.AddCommand(&cobra.Command{Use: "list", Short: "List endpoints", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			raw, err := g.request(c.Context(), webhookSubject+"list", map[string]any{})
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(raw)
			}
			var r struct {
				Endpoints []webhookEndpoint `json:"endpoints"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tFORMAT\tORDERED\tEVENTS\tURL")
			for _, e := range r.Endpoints {
				state := e.State
				if e.PausedReason != "" {
					state += " (" + e.PausedReason + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", e.ID, state, e.Format, e.Ordered, strings.Join(e.EventTypes, ","), e.URL)
			}
			return tw.Flush()
		}})
	for _, v := range []struct{ verb, use, short string }{
		{"delete", "delete ID", "Delete an endpoint and drop its queued deliveries"},
		{"pause", "pause ID", "Pause an endpoint: deliveries are held, not dropped"},
		{"resume", "resume ID", "Resume an endpoint: held deliveries are sent (in order for ordered endpoints)"},
		{"test", "test ID", "Send a synthetic webhook.test event now and show the outcome"},
	} {
		c := &cobra.Command{Use: v.use, Short: v.short, Args: cobra.ExactArgs(1)}
		a := actorFlag(c)
		var reason string
		if v.verb == "pause" || v.verb == "delete" {
			c.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
		}
		c.RunE = func(c *cobra.Command, args []string) error {
			if err := needActor(a); err != nil {
				return err
			}
			body := map[string]any{"actor": *a, "id": args[0]}
			if reason != "" {
				body["reason"] = reason
			}
			return g.call(c, webhookSubject+v.verb, body)
		}
		wh.AddCommand(c)
	}
	{
		c := &cobra.Command{Use: "rotate-secret ID", Short: "Start signing with a new secret; the old one keeps signing for --grace", Args: cobra.ExactArgs(1)}
		a := actorFlag(c)
		var secretFile string
		var grace time.Duration
		c.Flags().StringVar(&secretFile, "secret-file", "", "file holding the new whsec_ secret, - for stdin (generated when absent)")
		c.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the previous secret keeps signing")
		c.RunE = func(c *cobra.Command, args []string) error {
			if err := needActor(a); err != nil {
				return err
			}
			body := map[string]any{"actor": *a, "id": args[0], "grace": grace.String()}
			if err := secretFrom(c, secretFile, body); err != nil {
				return err
			}
			return g.call(c, webhookSubject+"rotate_secret", body)
		}
		wh.AddCommand(c)
	}
	{
		c := &cobra.Command{Use: "redeliver ID", Short: "Re-send a range of events to one endpoint (--since TIME or --since-seq N)", Args: cobra.ExactArgs(1)}
		a := actorFlag(c)
		var since, until string
		var sinceSeq, untilSeq uint64
		c.Flags().StringVar(&since, "since", "", "RFC 3339 time of the first event")
		c.Flags().Uint64Var(&sinceSeq, "since-seq", 0, "ROSTER_EVENTS sequence of the first commit")
		c.Flags().StringVar(&until, "until", "", "RFC 3339 time of the last event (default: now)")
		c.Flags().Uint64Var(&untilSeq, "until-seq", 0, "sequence of the last commit")
		c.RunE = func(c *cobra.Command, args []string) error {
			if err := needActor(a); err != nil {
				return err
			}
			body := map[string]any{"actor": *a, "endpoint_id": args[0]}
			for k, v := range map[string]string{"since": since, "until": until} {
				if v == "" {
					continue
				}
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					return fmt.Errorf("--%s: %w", k, err)
				}
				body[k] = v
			}
			if sinceSeq > 0 {
				body["since_seq"] = sinceSeq
			}
			if untilSeq > 0 {
				body["until_seq"] = untilSeq
			}
			return g.call(c, "roster.webhook.redeliver", body)
		}
		wh.AddCommand(c)
	}
}
