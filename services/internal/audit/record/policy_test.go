package record_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/services/internal/audit/record"
)

// TestPolicyDecisionRules: a decision row must name its hook and command,
// and its outcome, failure class and on_failure come from their sets.
func TestPolicyDecisionRules(t *testing.T) {
	ok := record.PolicyDecision{ID: "d1", DecidedAt: time.Unix(1_800_000_000, 0), HookID: "h", Command: "member.invite", Outcome: "failed",
		FailureClass: "invalid_response", OnFailure: "allow", ResponseStatus: 200}
	if err := record.Validate(ok); err != nil {
		t.Fatal(err)
	}
	if record.Table(ok.AuditKind()) != "policy_decisions" || record.Subject(ok.AuditKind()) != "roster.audit.policy_decision" {
		t.Errorf("names: %s %s", record.Table(ok.AuditKind()), record.Subject(ok.AuditKind()))
	}
	for name, c := range map[string]struct {
		mod  func(*record.PolicyDecision)
		want string
	}{
		"no hook":          {func(d *record.PolicyDecision) { d.HookID = "" }, "hook_id"},
		"unknown outcome":  {func(d *record.PolicyDecision) { d.Outcome = "maybe" }, "outcome"},
		"failed, no class": {func(d *record.PolicyDecision) { d.FailureClass = "" }, "failure_class"},
		"unknown class":    {func(d *record.PolicyDecision) { d.FailureClass = "dns_error" }, "failure_class"},
		"on_failure":       {func(d *record.PolicyDecision) { d.OnFailure = "" }, "on_failure"},
		"status":           {func(d *record.PolicyDecision) { d.ResponseStatus = 1000 }, "response_status"},
		"latency":          {func(d *record.PolicyDecision) { d.LatencyMS = -1 }, "latency_ms"},
	} {
		d := ok
		c.mod(&d)
		err := record.Validate(d)
		if !errors.Is(err, record.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want malformed naming %s, have %v", name, c.want, err)
		}
	}
}
