package demo

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// print tells the story from the audit rows, table by table.
func (t trail) print(w io.Writer, db string) {
	versions := map[string]string{}
	for _, e := range t.events {
		versions[e.ID] = fmt.Sprintf("v%d %s", e.Version, e.Type)
	}
	fmt.Fprintf(w, "\nWhat the audit trail says (ClickHouse database %s, read back with audit.Reader):\n", db)

	fmt.Fprintf(w, "\ncommands: %d accepted\n", len(t.commands))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  RECEIVED\tSUBJECT\tACTOR\tOUTCOME\tVERSION\tLATENCY")
	for _, c := range t.commands {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", clock(c.ReceivedAt), c.Subject, c.Actor, c.Outcome, c.Version,
			roundDur(time.Duration(c.LatencyUS)*time.Microsecond))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nevents: %d\n", len(t.events))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tSTREAM SEQ\tTYPE\tACTOR\tDATA")
	for _, e := range t.events {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\n", e.Version, e.StreamSeq, e.Type, e.Actor, clip(e.Data, 60))
	}
	_ = tw.Flush()

	invalid, delivered := t.counts()
	fmt.Fprintf(w, "\ndelivery_attempts: %d invalid responses, then %d deliveries (WEBHOOK-ID is stable per event)\n", invalid, delivered)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STARTED\tEVENT\tATTEMPT\tTRIGGER\tSTATUS\tRESULT\tWEBHOOK-ID\tRESPONSE BODY")
	for _, a := range t.deliveries {
		result := a.FailureClass
		if a.Success {
			result = "delivered"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", clock(a.StartedAt), versions[a.EventID], a.Attempt, a.Trigger,
			a.ResponseStatus, result, clip(a.RequestHeaders["webhook-id"], 16), clip(a.ResponseBody, 60))
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nendpoint_changes: %d\n", len(t.changes))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tCHANGE\tBY\tAUTOMATIC\tREASON")
	for _, c := range t.changes {
		auto := "no"
		if c.Automatic {
			auto = "yes"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", clock(c.At), c.Change, c.Actor, auto, c.Reason)
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nIn short: %d commands accepted at once; %d invalid responses (%s); "+
		"paused automatically; resumed by %s; %d events delivered in order.\n",
		len(t.commands), invalid, BadBody, actor, delivered)
}

func clock(t time.Time) string { return t.Local().Format("15:04:05.000") }

func roundDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
