package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// Policy is roster-policy (docs/policy.md) as the console uses it: the
// requests of roster policy hook list|create|delete.
type Policy interface {
	Hooks(ctx context.Context) ([]PolicyHook, error)
	CreateHook(ctx context.Context, actor string, h NewHook) (PolicyHook, string, error)
	DeleteHook(ctx context.Context, actor, id string) error
}

// PolicyHook is a hook as roster.policy.hook.list shows it (no secret).
type PolicyHook struct {
	ID        string    `json:"id"`
	Command   string    `json:"command"`
	Callback  string    `json:"callback,omitempty"`
	URL       string    `json:"url"`
	Format    string    `json:"format"`
	Timeout   string    `json:"timeout"`
	OnFailure string    `json:"on_failure"`
	HasSecret bool      `json:"has_secret"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// NewHook is what the console's hook form sends.
type NewHook struct {
	ID        string
	Command   string
	URL       string
	Format    string
	Timeout   string
	OnFailure string
}

// The breaker's defaults (policy CheckConfig.Breaker, docs/policy.md): the
// console derives a hook's breaker state from its decisions with them.
const (
	BreakerFailures = 5
	BreakerCoolDown = 30 * time.Second
)

// HookSummary is one hook's line on the policy page: its decisions over the
// last Window and its breaker as the decisions show it.
type HookSummary struct {
	Hook     PolicyHook
	Outcomes map[string]int // allowed, denied, overridden, failed, skipped
	Total    int
	Failures int // failed + skipped
	P99      time.Duration
	// Breaker is "open", "half-open" or "closed"; FailingInARow the
	// failed calls since the last success.
	Breaker       string
	FailingInARow int
	LastFailure   string
}

// PolicyPage is the policy page: every hook and the latest decisions.
type PolicyPage struct {
	Available bool // roster-policy is on this stack
	Hooks     []HookSummary
	HooksErr  error
	Decisions []record.PolicyDecision
	Page      int
	HasNext   bool
	TrailErr  error
}

// PolicyPage reads the policy page; page pages the decisions, newest first.
func (a *App) PolicyPage(ctx context.Context, page int) PolicyPage {
	p := PolicyPage{Available: a.Policy != nil, Page: max(page, 1)}
	if a.Policy == nil {
		return p
	}
	hooks, err := a.Policy.Hooks(ctx)
	if err != nil {
		p.HooksErr = err
	}
	now := a.Clock.Now()
	rows, err := a.Trail.PolicyDecisions(ctx, Filter{Since: now.Add(-Window), Limit: TrailCap})
	if err != nil {
		p.TrailErr = err
	}
	byHook := map[string][]record.PolicyDecision{}
	for _, d := range rows {
		byHook[d.HookID] = append(byHook[d.HookID], d)
	}
	for _, h := range hooks {
		p.Hooks = append(p.Hooks, summarize(h, byHook[h.ID], now))
	}
	newest := slices.Clone(rows)
	slices.Reverse(newest)
	p.Decisions, p.HasNext = Page(newest, p.Page)
	return p
}

// summarize folds a hook's decisions (oldest first) into its summary. The
// breaker is derived as the checker runs it: a skipped decision is a call
// the open breaker refused; after the cool-down the next call probes.
func summarize(h PolicyHook, ds []record.PolicyDecision, now time.Time) HookSummary {
	s := HookSummary{Hook: h, Outcomes: map[string]int{}, Breaker: "closed"}
	lat := make([]int64, 0, len(ds))
	for _, d := range ds {
		s.Total++
		s.Outcomes[d.Outcome]++
		lat = append(lat, int64(d.LatencyMS*1000))
		switch d.Outcome {
		case "failed":
			s.Failures++
			s.FailingInARow++
			s.LastFailure = d.FailureClass
		case "skipped":
			s.Failures++
		default:
			s.FailingInARow = 0
		}
	}
	s.P99 = time.Duration(percentile(lat, 0.99)) * time.Microsecond
	if n := len(ds); n > 0 {
		last := ds[n-1]
		// The breaker opened at the threshold's failure, and a skipped
		// call is one it refused; within the cool-down of the last of
		// them it is open, after it the next call probes.
		if last.Outcome == "skipped" || s.FailingInARow >= BreakerFailures {
			s.Breaker = "half-open"
			if now.Sub(last.DecidedAt) < BreakerCoolDown {
				s.Breaker = "open"
			}
		}
	}
	return s
}

// CreateHook registers a policy hook and returns its id and secret (shown
// once; openim hooks have none).
func (a *App) CreateHook(ctx context.Context, operator string, h NewHook) (string, string, error) {
	if a.Policy == nil {
		return "", "", ErrNoPolicy
	}
	if strings.TrimSpace(h.URL) == "" || h.Command == "" || h.OnFailure == "" {
		return "", "", &InputError{Field: "hook", Message: "command, url and on_failure are required"}
	}
	hk, secret, err := a.Policy.CreateHook(ctx, Actor(operator), h)
	return hk.ID, secret, err
}

// DeleteHook deletes a policy hook.
func (a *App) DeleteHook(ctx context.Context, operator, id string) error {
	if a.Policy == nil {
		return ErrNoPolicy
	}
	return a.Policy.DeleteHook(ctx, Actor(operator), id)
}

// ErrNoPolicy: this console has no policy service to ask.
var ErrNoPolicy = &InputError{Field: "policy", Message: "no policy hook service on this stack"}
