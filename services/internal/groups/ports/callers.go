package ports

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/services/internal/groups/app"
)

var _ app.CallerPolicy = (*Callers)(nil)

// RequestInfoHeader is the header a NATS server sets on a request that
// crossed a service import: the caller's account and, with share: true,
// its user and tags. A client cannot forge it across an import: the server
// replaces whatever the client sent (nats-server client.go,
// processServiceImport). Inside Roster's own account nobody may publish
// commands (deploy/accounts.conf), so the header is the server's word.
const RequestInfoHeader = "Nats-Request-Info"

// Callers says which callers may name which actor (docs/adr/0053). A
// caller's account is either trusted (a backend acting for any of its
// users, as OpenIM's API does) or bound (the actor must be the identity
// NATS attests for the caller). Accounts not listed may not send commands.
type Callers struct {
	Accounts map[string]CallerRule
	// TrustUnattested admits requests without Nats-Request-Info (a server
	// without accounts, or same-account requests) as trusted.
	TrustUnattested bool
}

// CallerRule is one account's rule.
type CallerRule struct {
	// Bound: the actor must be the caller's identity; otherwise the account
	// is trusted.
	Bound bool
	// Tag, for bound accounts, takes the identity from the caller's JWT tag
	// "<Tag>:<id>" instead of its user name. NATS lowercases JWT tags, so
	// tag-bound actors are compared lowercased.
	Tag string
}

// caller is the part of Nats-Request-Info Roster uses (nats-server
// server.ClientInfo).
type caller struct {
	Account string   `json:"acc"`
	User    string   `json:"user"`
	Tags    []string `json:"tags"`
}

func (c caller) String() string {
	if c.User == "" {
		return "account " + c.Account
	}
	return fmt.Sprintf("account %s user %q", c.Account, c.User)
}

// parseCaller reads a Nats-Request-Info value; ok is false when there is
// none or it is unreadable (then the request counts as unattested).
func parseCaller(h string) (caller, bool) {
	var c caller
	if h == "" || json.Unmarshal([]byte(h), &c) != nil || c.Account == "" {
		return caller{}, false
	}
	return c, true
}

type callerKey struct{}

// withCaller attaches the caller a Nats-Request-Info value names to ctx.
func withCaller(ctx context.Context, info string) context.Context {
	c, ok := parseCaller(info)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, c)
}

// Admit decides whether the request in ctx may act as actor (it
// implements app.CallerPolicy). A nil policy admits everyone (the dev
// stack and in-process callers).
func (p *Callers) Admit(ctx context.Context, actor string) error {
	if p == nil {
		return nil
	}
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok {
		if p.TrustUnattested {
			return nil
		}
		return events.Errorf(events.CodeForbidden, "request carries no caller identity (Nats-Request-Info): send it through an account import")
	}
	rule, listed := p.Accounts[c.Account]
	switch {
	case !listed:
		return events.Errorf(events.CodeForbidden, "%s may not send commands", c)
	case !rule.Bound:
		return nil
	}
	id, found := c.User, c.User != ""
	if rule.Tag != "" {
		id, found = "", false
		for _, t := range c.Tags {
			if v, ok := strings.CutPrefix(t, rule.Tag+":"); ok {
				id, found = v, true
				break
			}
		}
		actor = strings.ToLower(actor)
	}
	if !found {
		return events.Errorf(events.CodeForbidden, "actor %q: %s is bound but NATS attests no identity for it (import with share: true%s)", actor, c, tagHint(rule.Tag))
	}
	if id != actor {
		return events.Errorf(events.CodeForbidden, "actor %q is not the caller: %s may act only as %q", actor, c, id)
	}
	return nil
}

func tagHint(tag string) string {
	if tag == "" {
		return ""
	}
	return ", and a user tag " + tag + ":<id>"
}

// ParseCallers reads a caller policy written as a comma-separated list of
// ACCOUNT=trusted, ACCOUNT=bound (by user name) or ACCOUNT=bound:tag:PREFIX.
func ParseCallers(spec string, trustUnattested bool) (*Callers, error) {
	p := &Callers{Accounts: map[string]CallerRule{}, TrustUnattested: trustUnattested}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		acc, mode, ok := strings.Cut(item, "=")
		if !ok || acc == "" {
			return nil, fmt.Errorf("caller policy %q: want ACCOUNT=trusted|bound|bound:tag:PREFIX", item)
		}
		if _, dup := p.Accounts[acc]; dup {
			return nil, fmt.Errorf("caller policy: account %s listed twice", acc)
		}
		var rule CallerRule
		switch {
		case mode == "trusted":
		case mode == "bound":
			rule.Bound = true
		case strings.HasPrefix(mode, "bound:tag:") && len(mode) > len("bound:tag:"):
			rule = CallerRule{Bound: true, Tag: strings.ToLower(strings.TrimPrefix(mode, "bound:tag:"))}
		default:
			return nil, fmt.Errorf("caller policy %q: mode %q: want trusted, bound or bound:tag:PREFIX", item, mode)
		}
		p.Accounts[acc] = rule
	}
	return p, nil
}

// String renders p as ParseCallers reads it (sorted by account).
func (p *Callers) String() string {
	if p == nil {
		return "everyone trusted"
	}
	accs := make([]string, 0, len(p.Accounts))
	for a := range p.Accounts {
		accs = append(accs, a)
	}
	slices.Sort(accs)
	parts := make([]string, 0, len(accs))
	for _, a := range accs {
		r := p.Accounts[a]
		switch {
		case !r.Bound:
			parts = append(parts, a+"=trusted")
		case r.Tag == "":
			parts = append(parts, a+"=bound")
		default:
			parts = append(parts, a+"=bound:tag:"+r.Tag)
		}
	}
	return strings.Join(parts, ",")
}
