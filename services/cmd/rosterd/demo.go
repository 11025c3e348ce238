package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/services/internal/audit"
	"github.com/rosterhq/roster/services/internal/groups"
	"github.com/rosterhq/roster/services/internal/webhook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// The demo's receiver speaks OpenIM's after-callback contract. Broken, it
// answers what issue #3230 upstream is about: a JSON value followed by
// text, which OpenIM rejects (and so does Roster's openim judge).
const (
	demoBadBody  = `{"actionCode":0}Callback ok`
	demoGoodBody = `{"actionCode":0,"errCode":0,"errMsg":"","nextCode":0}`
	// demoPauseAfter is the dispatcher's pause threshold on the demo stack
	// (production: 50 consecutive failures or 24h).
	demoPauseAfter = 3
	demoActor      = "ops"
)

// demoRetry is the demo endpoint's own retry schedule: ten attempts 300ms
// apart instead of Svix's 27 hours.
var demoRetry = []string{"0s", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms", "300ms"}

// runDemo plays the seed scenario on the dev stack and prints what happened
// from the audit tables (docs/audit.md, "The demo").
func runDemo(ctx context.Context, e *env) error {
	return demo{out: os.Stdout, step: 60 * time.Second}.run(ctx, e)
}

// demo is one run of "rosterd dev --demo". Every step that waits for
// something is bounded by step; a step that does not happen ends the demo
// with an error naming it.
type demo struct {
	out  io.Writer
	step time.Duration
}

// ErrDemoStep is wrapped by the error of a step that did not happen in time.
var ErrDemoStep = errors.New("demo step did not happen in time")

func (d demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d demo) run(ctx context.Context, e *env) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// ClickHouse first: without it there is no trail to show, and the
	// error should say so before anything else starts.
	ch := audit.ClickHouseConfig{DSN: e.opts.clickhouseDSN}
	mctx, mcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := audit.Migrate(mctx, ch)
	mcancel()
	if err != nil {
		return fmt.Errorf("demo: ClickHouse at %s is needed for the audit trail (scripts/dev starts one; or set --clickhouse-dsn / ROSTER_CLICKHOUSE_DSN): %w", safeDSN(ch.DSN), err)
	}
	conn, db, err := audit.OpenClickHouse(ch)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer conn.Close()
	reader := audit.Reader{Conn: conn, DB: db}

	run := demoRunID()
	groupID, endpointID := "A-"+run, "demo-openim-"+run
	rv, err := startDemoReceiver()
	if err != nil {
		return fmt.Errorf("demo: receiver: %w", err)
	}
	defer rv.close()

	// Every service in the background, as "rosterd dev" runs them, with a
	// pause threshold a demo can reach. Their info logs would drown the
	// story on the terminal: warnings and errors still show.
	e.opts.webhookHealth = delivery.HealthPolicy{MaxConsecutiveFailures: demoPauseAfter}
	if e.log.GetLevel() == zerolog.InfoLevel {
		e.log = e.log.Level(zerolog.WarnLevel)
	}
	st := startStack(ctx, e)
	defer st.stop()

	d.printf("Roster demo: the OpenIM seed scenario, told by the audit trail\n")
	d.printf("  receiver  %s/callback answers %s until it is fixed\n", rv.url, demoBadBody)
	d.printf("  endpoint  %s (openim, ordered; paused after %d failed attempts in a row)\n", endpointID, demoPauseAfter)
	d.printf("  group     %s, owner o; audit trail in ClickHouse database %s\n\n", groupID, db)

	if err := d.wait(ctx, st, "services answer", func() error {
		for _, s := range []string{groups.ServiceName, webhook.ServiceName} {
			if _, err := e.nc.Request("$SRV.PING."+s, nil, time.Second); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}

	if err := request(ctx, e.nc, webhook.SubjectPrefix+"create", map[string]any{
		"actor": demoActor, "id": endpointID, "url": rv.url + "/callback", "format": "openim", "ordered": true,
		"group_ids": []string{groupID}, "retry_schedule": demoRetry, "timeout": "5s",
		"description": "rosterd dev --demo: a receiver that answers like OpenIM issue #3230",
	}, nil); err != nil {
		return fmt.Errorf("demo: register the endpoint: %w", err)
	}
	d.printf("1. Endpoint registered on %screate\n\n", webhook.SubjectPrefix)

	d.printf("2. The seed scenario, through roster.cmd.*: every command is answered at once\n")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	for _, c := range []struct{ subject, user string }{
		{"group.create", ""}, {"member.invite", "a"}, {"member.remove", "a"}, {"member.invite", "a"},
	} {
		req := map[string]any{"group_id": groupID, "actor": "o"}
		what := "group " + groupID + " owner o"
		if c.user == "" {
			req["name"] = "Group A"
		} else {
			req["user_ids"] = []string{c.user}
			what = c.user
		}
		var reply groups.Reply
		start := time.Now()
		if err := request(ctx, e.nc, "roster.cmd."+c.subject, req, &reply); err != nil {
			return fmt.Errorf("demo: %s: %w", c.subject, err)
		}
		fmt.Fprintf(tw, "   roster.cmd.%s\t%s\taccepted, version %d\t%s\n", c.subject, what, reply.Version, roundDur(time.Since(start)))
	}
	_ = tw.Flush()

	d.printf("\n3. The receiver answers %s: waiting for the automatic pause\n", demoBadBody)
	var paused webhook.EndpointReply
	if err := d.wait(ctx, st, "the endpoint is paused automatically", func() error {
		if err := request(ctx, e.nc, webhook.SubjectPrefix+"get", map[string]any{"id": endpointID}, &paused); err != nil {
			return err
		}
		if !paused.Endpoint.Paused() {
			return fmt.Errorf("endpoint %s is %s after %d invalid responses", endpointID, paused.Endpoint.State, rv.badCount())
		}
		return nil
	}); err != nil {
		return err
	}
	d.printf("   paused by %s: %s\n", paused.Endpoint.PausedBy, paused.Endpoint.PausedReason)

	rv.fix()
	if err := request(ctx, e.nc, webhook.SubjectPrefix+"resume", map[string]any{"actor": demoActor, "id": endpointID}, nil); err != nil {
		return fmt.Errorf("demo: resume: %w", err)
	}
	d.printf("\n4. Receiver fixed; endpoint resumed on %sresume: waiting for the four deliveries\n", webhook.SubjectPrefix)
	if err := d.wait(ctx, st, "the receiver gets all four events", func() error {
		if n := rv.goodCount(); n != 4 {
			return fmt.Errorf("the receiver acknowledged %d of 4 events", n)
		}
		return nil
	}); err != nil {
		return err
	}
	d.printf("   the receiver acknowledged 4 events\n")

	d.printf("\n5. Waiting for the audit rows in ClickHouse\n")
	var t trail
	bad := rv.badCount()
	if err := d.wait(ctx, st, "the audit rows arrive", func() error {
		var err error
		if t, err = readTrail(ctx, reader, groupID, endpointID); err != nil {
			return err
		}
		return t.complete(bad)
	}); err != nil {
		return err
	}
	t.print(d.out, db)

	// The receiver stops with the demo: an endpoint left pointing at it
	// would fail (and pause) again on the next event of the group.
	if err := request(ctx, e.nc, webhook.SubjectPrefix+"delete", map[string]any{"actor": demoActor, "id": endpointID, "reason": "demo finished"}, nil); err != nil {
		return fmt.Errorf("demo: delete the endpoint: %w", err)
	}
	// Wait for that row too: the sink stops with the demo, and a record
	// left in ROSTER_AUDIT would reach ClickHouse only on the next start.
	if err := d.wait(ctx, st, "the endpoint's deletion reaches the audit trail", func() error {
		ch, err := reader.EndpointChanges(ctx, audit.Filter{EndpointID: endpointID, Status: "deleted"})
		if err == nil && len(ch) != 1 {
			err = fmt.Errorf("%d deletion rows", len(ch))
		}
		return err
	}); err != nil {
		return err
	}
	d.printf("\nThe demo endpoint is deleted (its receiver stops now). Read the trail again with:\n")
	d.printf("  roster audit commands --group %s\n  roster audit deliveries --endpoint %s\n  roster audit endpoints --endpoint %s\n", groupID, endpointID, endpointID)
	return st.stop()
}

// wait polls cond until it holds, the stack fails or d.step passes.
func (d demo) wait(ctx context.Context, st *stack, what string, cond func() error) error {
	deadline := time.Now().Add(d.step)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s: %w within %s: %v", what, ErrDemoStep, d.step, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: %s: %w", what, ctx.Err())
		case <-st.done:
			return fmt.Errorf("demo: %s: the services stopped: %v", what, st.err)
		case <-tick.C:
		}
	}
}

// stack is every service running in the background.
type stack struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
}

func startStack(ctx context.Context, e *env) *stack {
	ctx, cancel := context.WithCancel(ctx)
	st := &stack{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		st.err = runServices(ctx, e, serviceNames())
	}()
	return st
}

// stop stops the services (the audit publisher drains last) and returns
// how they ended.
func (st *stack) stop() error {
	st.once.Do(st.cancel)
	<-st.done
	return st.err
}

// demoReceiver is the built-in OpenIM receiver on loopback.
type demoReceiver struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	fixed bool
	bad   int
	good  map[string]bool // operationID answered properly
}

func startDemoReceiver() (*demoReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rv := &demoReceiver{url: "http://" + l.Addr().String(), good: map[string]bool{}}
	rv.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(rv.serve)}
	go func() { _ = rv.srv.Serve(l) }()
	return rv, nil
}

func (rv *demoReceiver) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	rv.mu.Lock()
	fixed := rv.fixed
	if fixed {
		rv.good[r.Header.Get("operationID")] = true
	} else {
		rv.bad++
	}
	rv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fixed {
		_, _ = io.WriteString(w, demoGoodBody)
		return
	}
	_, _ = io.WriteString(w, demoBadBody)
}

func (rv *demoReceiver) fix() {
	rv.mu.Lock()
	rv.fixed = true
	rv.mu.Unlock()
}

func (rv *demoReceiver) badCount() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.bad
}

func (rv *demoReceiver) goodCount() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.good)
}

func (rv *demoReceiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = rv.srv.Shutdown(ctx)
}

// trail is the demo's rows of the four audit tables.
type trail struct {
	commands   []audit.Command
	events     []audit.Event
	deliveries []audit.DeliveryAttempt
	changes    []audit.EndpointChange
}

func readTrail(ctx context.Context, r audit.Reader, groupID, endpointID string) (trail, error) {
	var (
		t   trail
		err error
	)
	if t.commands, err = r.Commands(ctx, audit.Filter{GroupID: groupID}); err != nil {
		return t, err
	}
	if t.events, err = r.Events(ctx, audit.Filter{GroupID: groupID}); err != nil {
		return t, err
	}
	if t.deliveries, err = r.Deliveries(ctx, audit.Filter{EndpointID: endpointID}); err != nil {
		return t, err
	}
	t.changes, err = r.EndpointChanges(ctx, audit.Filter{EndpointID: endpointID})
	// Commands come newest first; the story reads oldest first.
	for i, j := 0, len(t.commands)-1; i < j; i, j = i+1, j-1 {
		t.commands[i], t.commands[j] = t.commands[j], t.commands[i]
	}
	return t, err
}

// complete says what is still missing: four accepted commands, four
// events, every invalid response the receiver gave, four deliveries, and
// the endpoint's creation, automatic pause and resume.
func (t trail) complete(badResponses int) error {
	var missing []string
	accepted := 0
	for _, c := range t.commands {
		if c.Outcome == "accepted" {
			accepted++
		}
	}
	if accepted != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 accepted commands", accepted))
	}
	if len(t.events) != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 events", len(t.events)))
	}
	invalid, delivered := t.counts()
	if invalid != badResponses {
		missing = append(missing, fmt.Sprintf("%d of %d invalid responses", invalid, badResponses))
	}
	if delivered != 4 {
		missing = append(missing, fmt.Sprintf("%d of 4 deliveries", delivered))
	}
	var changes []string
	for _, c := range t.changes {
		changes = append(changes, c.Change)
	}
	if strings.Join(changes, ",") != "created,paused,resumed" {
		missing = append(missing, fmt.Sprintf("endpoint changes %v, want created, paused, resumed", changes))
	}
	if len(missing) > 0 {
		return errors.New("have " + strings.Join(missing, "; "))
	}
	return nil
}

func (t trail) counts() (invalid, delivered int) {
	for _, a := range t.deliveries {
		switch {
		case a.Success:
			delivered++
		case a.FailureClass == string(delivery.ClassInvalidResponse):
			invalid++
		}
	}
	return invalid, delivered
}

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
		len(t.commands), invalid, demoBadBody, demoActor, delivered)
}

// request sends a NATS request and decodes a success reply into out; an
// error reply becomes an error carrying its code and message.
func request(ctx context.Context, nc *nats.Conn, subject string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, subject, body)
	if err != nil {
		return fmt.Errorf("%s: %w", subject, err)
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &e); err != nil {
		return fmt.Errorf("%s: reply is not JSON: %w", subject, err)
	}
	if e.Error != nil {
		return fmt.Errorf("%s: %s: %s", subject, e.Error.Code, e.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(msg.Data, out); err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
	}
	return nil
}

// demoRunID makes the demo's group and endpoint ids unique, so the demo
// can run again on the same data directory and ClickHouse database.
func demoRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// safeDSN drops the user info (a password) from a DSN for an error message.
func safeDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return "(the configured DSN)"
	}
	return u.Scheme + "://" + u.Host + u.Path
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
