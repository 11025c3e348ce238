// Package endpoint is the webhook endpoint model: what an endpoint is, how
// requests to create or change one are validated, which events it wants,
// and its durable store in the NATS KV bucket ROSTER_WEBHOOK_ENDPOINTS.
package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/webhook/delivery"
)

// Format is how events are sent to an endpoint.
type Format string

const (
	// FormatStandard: a Standard Webhooks signed JSON envelope.
	FormatStandard Format = "standard"
	// FormatOpenIM: OpenIM's after-callback form, for existing receivers.
	FormatOpenIM Format = "openim"
)

// State is an endpoint's delivery state.
type State string

const (
	StateActive State = "active"
	// StatePaused: deliveries are held (kept queued, not attempted) until
	// the endpoint is resumed.
	StatePaused State = "paused"
)

// Duration is a time.Duration written as a Go duration string ("15s").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"15s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Secret is one signing secret. During a rotation the previous secret stays
// valid until ExpiresAt, and every delivery carries a signature per valid
// secret.
type Secret struct {
	Value string `json:"value,omitempty"`
	// Sealed is Value encrypted at rest ("v1:<key id>:<base64>"); set only
	// in the bucket's records, never in an Endpoint the Store returns.
	Sealed    string     `json:"sealed,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Endpoint is a webhook destination.
type Endpoint struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	EventTypes  []string `json:"event_types"`
	GroupIDs    []string `json:"group_ids,omitempty"`
	Format      Format   `json:"format"`
	Secrets     []Secret `json:"secrets"`
	Timeout     Duration `json:"timeout"`
	// RateLimit is the most attempts per second (0: unlimited).
	RateLimit     float64    `json:"rate_limit,omitempty"`
	RetrySchedule []Duration `json:"retry_schedule,omitempty"`
	Ordered       bool       `json:"ordered"`
	State         State      `json:"state"`
	PausedReason  string     `json:"paused_reason,omitempty"`
	PausedAt      *time.Time `json:"paused_at,omitempty"`
	PausedBy      string     `json:"paused_by,omitempty"`
	ResumedAt     *time.Time `json:"resumed_at,omitempty"`
	// StartSeq: the endpoint receives events stored in ROSTER_EVENTS after
	// this sequence (the stream's last sequence when it was created); older
	// events reach it only through redeliver.
	StartSeq  uint64    `json:"start_seq"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Limits.
const (
	MaxURLLen      = 2048
	MaxPatterns    = 64
	MaxGroups      = 1000
	MaxDescription = 1024
	MaxTimeout     = 60 * time.Second
	DefaultTimeout = 15 * time.Second
	MaxRateLimit   = 10000
)

// Redacted returns a copy with every secret value removed, for replies,
// logs and audit rows.
func (e Endpoint) Redacted() Endpoint {
	out := e
	out.Secrets = make([]Secret, len(e.Secrets))
	for i, s := range e.Secrets {
		s.Value, s.Sealed = "", ""
		out.Secrets[i] = s
	}
	return out
}

// ForAudit is Redacted with the URL's query, fragment and user info
// dropped as well (receivers put tokens in the query): what endpoint-change
// rows store. Replies keep the URL whole; its owner may read it back.
func (e Endpoint) ForAudit() Endpoint {
	out := e.Redacted()
	out.URL = delivery.RedactURL(e.URL)
	return out
}

// Paused reports whether deliveries are held.
func (e Endpoint) Paused() bool { return e.State == StatePaused }

// ActiveKeys returns the keys of every secret still valid at now, newest
// first.
func (e Endpoint) ActiveKeys(now time.Time) [][]byte {
	var keys [][]byte
	for _, s := range e.Secrets {
		if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
			continue
		}
		if k, err := delivery.ParseSecret(s.Value); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// Policy is the endpoint's retry policy; def applies when it has no
// schedule of its own.
func (e Endpoint) Policy(def delivery.Policy) delivery.Policy {
	if len(e.RetrySchedule) == 0 {
		return def
	}
	p := delivery.Policy{Jitter: def.Jitter}
	for _, d := range e.RetrySchedule {
		p.Schedule = append(p.Schedule, time.Duration(d))
	}
	return p
}

// Wants reports whether the endpoint subscribes to ev (type and group
// filters); it does not look at the state or StartSeq. An openim endpoint
// gets an event OpenIM 3.8 has no after-callback for (a Roster extension:
// invites, join requests and their answers, mutes) only when a pattern
// names its type exactly: a 3.8 receiver has no route for it and would
// answer 404 until the endpoint is paused (ADR 0084).
func (e Endpoint) Wants(ev events.Event) bool {
	if len(e.GroupIDs) > 0 && !slices.Contains(e.GroupIDs, ev.GroupID) {
		return false
	}
	exactOnly := e.Format == FormatOpenIM && !delivery.OpenIMNative(ev.Type)
	for _, p := range e.EventTypes {
		if exactOnly {
			if p == string(ev.Type) {
				return true
			}
			continue
		}
		if MatchType(p, string(ev.Type)) {
			return true
		}
	}
	return false
}

// MatchType matches an event type against a pattern: "*" (everything),
// "member.*" (a namespace) or an exact type name.
func MatchType(pattern, t string) bool {
	if pattern == "*" {
		return true
	}
	if ns, ok := strings.CutSuffix(pattern, ".*"); ok {
		return strings.HasPrefix(t, ns+".")
	}
	return pattern == t
}

func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	if ns, ok := strings.CutSuffix(p, ".*"); ok {
		for _, t := range events.AllTypes {
			if strings.HasPrefix(string(t), ns+".") {
				return true
			}
		}
		return false
	}
	return slices.Contains(events.AllTypes, events.Type(p))
}

// ValidateURL checks an endpoint URL: http or https, a host, no user info
// (credentials in a URL end up in logs), bounded length, and an IP literal
// host only in its canonical form: a zoned IPv6 address or a numeric IPv4
// form such as "127.1", "2130706433" or "0177.0.0.1" has no use but to read
// differently to different parsers. Whether an address may be dialled is
// decided at delivery time, after DNS resolution and against the operator's
// allowlist (delivery.Guard), which refuses these forms too.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("url: required")
	}
	if len(raw) > MaxURLLen {
		return fmt.Errorf("url: longer than %d bytes", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url: not a valid URL")
	}
	var errs []error
	if u.Scheme != "http" && u.Scheme != "https" {
		errs = append(errs, errors.New("url: scheme must be http or https"))
	}
	if u.Hostname() == "" {
		errs = append(errs, errors.New("url: host is required"))
	} else if err := validateHost(u.Hostname()); err != nil {
		errs = append(errs, err)
	}
	if u.User != nil {
		errs = append(errs, errors.New("url: must not carry user info; use the signing secret"))
	}
	if u.Fragment != "" {
		errs = append(errs, errors.New("url: must not have a fragment"))
	}
	return errors.Join(errs...)
}

func validateHost(host string) error {
	for _, c := range host {
		if c > 0x7e || c < 0x21 {
			// net/http maps Unicode hosts through IDNA before dialling
			// ("１２７.０.０.１" becomes 127.0.0.1); ask for the ASCII form.
			return fmt.Errorf("url: host %q must be ASCII (write an internationalised name in its xn-- form)", host)
		}
	}
	h, lit, err := delivery.ParseHost(host)
	switch {
	case err != nil:
		return fmt.Errorf("url: %w", err)
	case !lit || h.Canonical:
		return nil
	case h.Addr.Zone() != "":
		return fmt.Errorf("url: host %q: %w", host, delivery.ErrZonedAddress)
	}
	return fmt.Errorf("url: host %q is an IP address in a non-canonical form; write it as %s", host, h.Addr)
}

// Validate reports every problem with e's configurable fields.
func (e Endpoint) Validate() error {
	var errs []error
	if err := events.ValidateID("id", e.ID); err != nil {
		errs = append(errs, err)
	}
	if err := ValidateURL(e.URL); err != nil {
		errs = append(errs, err)
	}
	if len(e.Description) > MaxDescription {
		errs = append(errs, fmt.Errorf("description: longer than %d bytes", MaxDescription))
	}
	if len(e.EventTypes) == 0 {
		errs = append(errs, errors.New("event_types: at least one pattern (\"*\" for all)"))
	}
	if len(e.EventTypes) > MaxPatterns {
		errs = append(errs, fmt.Errorf("event_types: at most %d patterns", MaxPatterns))
	}
	for i, p := range e.EventTypes {
		if !validPattern(p) {
			errs = append(errs, fmt.Errorf("event_types[%d]: %q is not an event type, a namespace wildcard like \"member.*\", or \"*\"", i, p))
		}
	}
	if len(e.GroupIDs) > MaxGroups {
		errs = append(errs, fmt.Errorf("group_ids: at most %d", MaxGroups))
	}
	if err := events.ValidateIDs("group_ids", e.GroupIDs); len(e.GroupIDs) > 0 && err != nil {
		errs = append(errs, err)
	}
	if e.Format != FormatStandard && e.Format != FormatOpenIM {
		errs = append(errs, fmt.Errorf("format: %q, want %q or %q", e.Format, FormatStandard, FormatOpenIM))
	}
	if len(e.Secrets) == 0 {
		errs = append(errs, errors.New("secrets: at least one"))
	}
	for i, s := range e.Secrets {
		if _, err := delivery.ParseSecret(s.Value); err != nil {
			errs = append(errs, fmt.Errorf("secrets[%d]: %w", i, err))
		}
	}
	if e.Timeout <= 0 || time.Duration(e.Timeout) > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout: must be in (0, %s]", MaxTimeout))
	}
	if e.RateLimit < 0 || e.RateLimit > MaxRateLimit {
		errs = append(errs, fmt.Errorf("rate_limit: must be in [0, %d] per second", MaxRateLimit))
	}
	if len(e.RetrySchedule) > 0 {
		if err := e.Policy(delivery.Policy{}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("retry_schedule: %w", err))
		}
	}
	if e.State != StateActive && e.State != StatePaused {
		errs = append(errs, fmt.Errorf("state: %q", e.State))
	}
	return errors.Join(errs...)
}
