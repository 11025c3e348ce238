package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/services/internal/audit/record"
	"github.com/rosterhq/roster/services/internal/policy/decision"
	"github.com/rosterhq/roster/services/internal/policy/hook"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// recordTimeout bounds how long a decision waits for the trail's buffer.
const recordTimeout = 2 * time.Second

// HookSource gives the hooks guarding a command, in creation order, with
// their secrets opened. The roster-policy View implements it; it must
// answer from memory (it is asked on every command).
type HookSource interface {
	ForCommand(command string) []hook.Hook
}

// Sender sends one HTTP request within its timeout through the SSRF guard
// (webhook/adapters/httpclient.Client).
type Sender interface {
	Do(ctx context.Context, req delivery.Request) delivery.Response
}

// CheckConfig configures the Check use case.
type CheckConfig struct {
	Hooks  HookSource
	Sender Sender
	// Audit receives one policy_decisions row per decision (default: none
	// kept; production passes the audit publisher).
	Audit record.Recorder
	Clock clockwork.Clock
	Log   zerolog.Logger
	// Registerer receives the roster_policy_* series (default: a private
	// registry).
	Registerer prometheus.Registerer
	Breaker    BreakerConfig
	// CacheTTL is how long a hook's outcome is reused for the same request
	// id (an optimistic-concurrency retry of an unchanged input; default
	// 1m); CacheSize bounds the entries (default 10,000).
	CacheTTL  time.Duration
	CacheSize int
}

func (c *CheckConfig) setDefaults() {
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = time.Minute
	}
	if c.CacheSize == 0 {
		c.CacheSize = 10_000
	}
	c.Breaker.setDefaults()
}

// Validate reports every problem with c.
func (c CheckConfig) Validate() error {
	var errs []error
	if c.Hooks == nil {
		errs = append(errs, errors.New("Hooks (the hook source) is required"))
	}
	if c.Sender == nil {
		errs = append(errs, errors.New("Sender (the guarded HTTP client) is required"))
	}
	if c.CacheTTL < 0 || c.CacheSize < 1 {
		errs = append(errs, errors.New("CacheTTL must not be negative and CacheSize must be positive"))
	}
	return errors.Join(errs...)
}

// Checker runs the hooks of a command before the domain decides it
// (docs/policy.md). Safe for concurrent use.
type Checker struct {
	hooks    HookSource
	sender   Sender
	audit    record.Recorder
	clock    clockwork.Clock
	log      zerolog.Logger
	metrics  *CheckMetrics
	breakers *breakers
	cache    *outcomeCache
}

// NewChecker validates cfg and returns a Checker.
func NewChecker(cfg CheckConfig) (*Checker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policy check config: %w", err)
	}
	m, err := NewCheckMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Checker{
		hooks: cfg.Hooks, sender: cfg.Sender, audit: cfg.Audit, clock: cfg.Clock, log: cfg.Log, metrics: m,
		breakers: newBreakers(cfg.Breaker, m, cfg.Log),
		cache:    &outcomeCache{ttl: cfg.CacheTTL, max: cfg.CacheSize, clock: cfg.Clock, m: map[string]cached{}},
	}, nil
}

// Guards reports whether any hook guards command (the caller then takes
// a copy of the group's state for Check).
func (c *Checker) Guards(command string) bool { return len(c.hooks.ForCommand(command)) > 0 }

// CheckInput is one command to check.
type CheckInput struct {
	decision.Input
	// AuditID is the command's audit row id (audit.Command.ID), kept with
	// every decision.
	AuditID string
}

// Checked is what the hooks made of a command that may proceed.
type Checked struct {
	// Command is what the domain decides: the input's, changed by every
	// overriding hook in turn.
	Command group.Command
	hooks   []hook.Hook
	in      decision.Input
	ids     []string
}

// Holds reports whether the hooks would be asked the same on st: every
// hook's request for the command as received is byte for byte the one
// sent. When it does not, the caller checks again on st (an unchanged
// input is answered from the cache, without a call).
func (c Checked) Holds(st *group.State) bool {
	in := c.in
	in.Group, in.MemberCount, in.PendingCount = st, len(st.Members), len(st.Pending)
	for i, h := range c.hooks {
		r, err := decision.Build(h, in)
		if err != nil || r.ID != c.ids[i] {
			return false
		}
	}
	return true
}

// Check runs the hooks of in's command in order: a veto stops at once
// (policy_denied), a failure applies the hook's on_failure (deny:
// policy_unavailable), an override changes the command the next hook and
// the domain see. Every decision is recorded. An error is typed
// (events.Error) except a hook the store should never have accepted
// (its callback is not sent for the command): internal.
func (c *Checker) Check(ctx context.Context, in CheckInput) (Checked, error) {
	hooks := c.hooks.ForCommand(in.Command.Kind())
	out := Checked{Command: in.Command, hooks: hooks, in: in.Input, ids: make([]string, len(hooks))}
	cur := in.Input
	for i, h := range hooks {
		first, err := decision.Build(h, in.Input)
		if err != nil {
			return Checked{}, fmt.Errorf("policy hook %q: %w", h.ID, err)
		}
		out.ids[i] = first.ID
		req := first
		if i > 0 {
			if req, err = decision.Build(h, cur); err != nil {
				return Checked{}, fmt.Errorf("policy hook %q: %w", h.ID, err)
			}
		}
		v := c.call(ctx, h, cur, req, in.AuditID)
		if err := v.Err(h); err != nil {
			return Checked{}, err
		}
		cur.Command = v.Command
	}
	out.Command = cur.Command
	return out, nil
}

// call asks one hook, or answers from the cache or the open breaker.
func (c *Checker) call(ctx context.Context, h hook.Hook, in decision.Input, req decision.Request, auditID string) decision.Verdict {
	if v, ok := c.cache.get(req.ID); ok {
		return v
	}
	row := record.PolicyDecision{
		ID: uuid.NewString(), DecidedAt: c.clock.Now().UTC(), HookID: h.ID, Command: in.Command.Kind(), CommandID: in.CommandID,
		CommandAuditID: auditID, GroupID: in.GroupID, Actor: in.Actor, RequestID: req.ID, Format: string(h.Format),
		OnFailure: string(h.OnFailure),
	}
	done, open := c.breakers.allow(h)
	if open {
		v := decision.Skip(in)
		c.finish(ctx, h, row, v, delivery.Response{})
		return v
	}
	resp := c.sender.Do(ctx, c.httpRequest(h, req))
	v := c.judge(h, in, resp)
	// The caller giving up (its own context) says nothing of the hook.
	done(v.Outcome != decision.Failed, ctx.Err() != nil)
	c.metrics.call.WithLabelValues(h.ID).Observe(resp.Latency.Seconds())
	// Only a verdict that lets the command go on is reused: a rejection
	// ends the command, and the caller retrying it deserves a fresh call.
	if v.Err(h) == nil {
		c.cache.put(req.ID, v)
	}
	c.finish(ctx, h, row, v, resp)
	return v
}

func (c *Checker) httpRequest(h hook.Hook, req decision.Request) delivery.Request {
	hd := http.Header{"Content-Type": {"application/json"}}
	if h.Format == hook.FormatOpenIM {
		// OpenIM's webhook client sends the operation id as a header too.
		hd.Set("operationID", req.ID)
	}
	// Every call is signed as Standard Webhooks, openim ones too: OpenIM
	// signs nothing, and the extra headers cost an OpenIM receiver nothing.
	now := c.clock.Now()
	hd.Set("webhook-id", req.ID)
	hd.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	keys := make([][]byte, 0, len(h.Secrets))
	for _, s := range h.Secrets {
		k, err := delivery.ParseSecret(s)
		if err != nil {
			c.log.Warn().Str("hook_id", h.ID).Err(err).Msg("policy hook secret unusable; not signing with it")
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		hd.Set("webhook-signature", delivery.Sign(req.ID, now, req.Body, keys))
	}
	return delivery.Request{URL: req.URL, Headers: hd, Body: req.Body, Timeout: h.Timeout}
}

// judge turns an HTTP exchange into a verdict.
func (c *Checker) judge(h hook.Hook, in decision.Input, r delivery.Response) decision.Verdict {
	switch {
	case r.Err != nil:
		return decision.Fail(in, classOf(r.Class), r.Err.Error())
	case delivery.StatusClass(r.Status) != delivery.ClassNone:
		return decision.Fail(in, decision.ClassStatus, fmt.Sprintf("HTTP %d", r.Status))
	case r.Truncated:
		return decision.Fail(in, decision.ClassTooLarge, "answer longer than the cap")
	}
	return decision.Judge(h, in, r.Body)
}

// classOf folds the sender's transport classes into the policy's.
func classOf(c delivery.Class) decision.Class {
	switch c {
	case delivery.ClassTimeout:
		return decision.ClassTimeout
	case delivery.ClassBlockedAddress:
		return decision.ClassBlockedAddress
	case delivery.ClassTooLarge:
		return decision.ClassTooLarge
	case delivery.ClassHTTP4xx, delivery.ClassHTTP5xx, delivery.ClassRedirect:
		return decision.ClassStatus
	case delivery.ClassInvalidResponse:
		return decision.ClassInvalidResponse
	}
	return decision.ClassConnect
}

// finish records a decision in the trail, the metrics and the log.
func (c *Checker) finish(ctx context.Context, h hook.Hook, row record.PolicyDecision, v decision.Verdict, resp delivery.Response) {
	row.Outcome, row.FailureClass, row.Code, row.Message = string(v.Outcome), string(v.Class), v.Code, v.Message
	row.LatencyMS, row.ResponseStatus = float64(resp.Latency.Microseconds())/1000, resp.Status
	row.ResponseBody = record.TruncateUTF8(string(resp.Body), record.MaxPolicyResponseBody)
	if v.Refused != nil {
		row.Message = v.Refused.Error()
	}
	if len(v.Override) > 0 {
		row.Override = string(v.Override)
	}
	c.metrics.decisions.WithLabelValues(h.ID, row.Command, row.Outcome).Inc()
	ev := c.log.Debug()
	if v.Outcome == decision.Failed || v.Outcome == decision.Skipped {
		ev = c.log.Warn()
	}
	ev.Str("hook_id", h.ID).Str("command", row.Command).Str("group_id", row.GroupID).Str("outcome", row.Outcome).
		Str("failure_class", row.FailureClass).Str("message", row.Message).Msg("policy decision")
	if c.audit == nil {
		return
	}
	// The trail takes the row asynchronously; only a full buffer waits,
	// and not past recordTimeout even when the caller has given up (the
	// decision happened, the row is still due).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := c.audit.Record(rctx, row); err != nil {
		c.log.Warn().Err(err).Str("hook_id", h.ID).Msg("policy decision not recorded")
	}
}

// outcomeCache keeps each called hook's verdict that let the command go
// on, by request id, for a short time, so that an optimistic-concurrency retry whose decision input did
// not change gets the same verdict without a second call.
type outcomeCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	clock clockwork.Clock
	m     map[string]cached
	order []string
}

type cached struct {
	v       decision.Verdict
	expires time.Time
}

func (oc *outcomeCache) get(id string) (decision.Verdict, bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	e, ok := oc.m[id]
	if !ok || oc.clock.Now().After(e.expires) {
		return decision.Verdict{}, false
	}
	return e.v, true
}

func (oc *outcomeCache) put(id string, v decision.Verdict) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if _, ok := oc.m[id]; !ok {
		oc.order = append(oc.order, id)
	}
	oc.m[id] = cached{v: v, expires: oc.clock.Now().Add(oc.ttl)}
	for len(oc.order) > oc.max {
		delete(oc.m, oc.order[0])
		oc.order = oc.order[1:]
	}
}
