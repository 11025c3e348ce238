// Package hook is the pure domain of a synchronous policy hook (OpenIM's
// before-callbacks, done right; issue 12): what a hook is, which Roster
// commands it can guard, which OpenIM callback each command sends, and the
// rules a hook must satisfy. No I/O.
package hook

import (
	"errors"
	"fmt"
	"time"
)

// Format is how a hook is called.
type Format string

const (
	// FormatOpenIM: OpenIM 3.8's before-callback request for the operation,
	// POST {url}/{callbackCommand}; the answer is OpenIM's
	// {"actionCode","errCode","errMsg","errDlt","nextCode",...overrides}.
	FormatOpenIM Format = "openim"
	// FormatStandard: a Standard Webhooks signed request; the answer is
	// {"allow":bool,"code":..,"message":..,"patch":{..}}.
	FormatStandard Format = "standard"
)

// OnFailure is what a failed call (timeout, connect error, non-2xx, a body
// that is not exactly one JSON object, an open breaker) means.
type OnFailure string

const (
	// Allow: the command proceeds as if the hook allowed it unchanged.
	Allow OnFailure = "allow"
	// Deny: the command is rejected with code policy_unavailable.
	Deny OnFailure = "deny"
)

// Timeouts: OpenIM's default is 5 s; a hook may not hold a command longer
// than MaxTimeout.
const (
	DefaultTimeout = 5 * time.Second
	MinTimeout     = 10 * time.Millisecond
	MaxTimeout     = 30 * time.Second
)

// OpenIM before-callback commands (pkg/callbackstruct/constant.go of
// open-im-server v3.8.3). Roster extensions follow OpenIM's pattern for
// operations OpenIM has no before-callback for.
const (
	OpenIMBeforeCreateGroup        = "callbackBeforeCreateGroupCommand"
	OpenIMBeforeMembersJoinGroup   = "callbackBeforeMembersJoinGroupCommand"
	OpenIMBeforeInviteJoinGroup    = "callbackBeforeInviteJoinGroupCommand"
	OpenIMBeforeJoinGroup          = "callbackBeforeJoinGroupCommand"
	OpenIMBeforeSetGroupInfo       = "callbackBeforeSetGroupInfoCommand"
	OpenIMBeforeSetGroupMemberInfo = "callbackBeforeSetGroupMemberInfoCommand"
	// Roster extensions (OpenIM 3.8 calls nothing before these).
	OpenIMBeforeKickGroupMember    = "callbackBeforeKickGroupMemberCommand"
	OpenIMBeforeTransferGroupOwner = "callbackBeforeTransferGroupOwnerCommand"
)

// openIMCallbacks lists, per Roster command a hook can guard, the OpenIM
// callbacks an openim hook may send; the first is the default. OpenIM calls
// beforeMembersJoinGroup on every admission (create, invite, approval,
// direct join), so those commands offer it as a second choice: a
// webhooks.yml with beforeMemberJoinGroup enabled becomes one hook per
// admitting command with callback callbackBeforeMembersJoinGroupCommand.
var openIMCallbacks = map[string][]string{
	"group.create":    {OpenIMBeforeCreateGroup, OpenIMBeforeMembersJoinGroup},
	"group.update":    {OpenIMBeforeSetGroupInfo},
	"group.transfer":  {OpenIMBeforeTransferGroupOwner},
	"member.invite":   {OpenIMBeforeInviteJoinGroup, OpenIMBeforeMembersJoinGroup},
	"member.join":     {OpenIMBeforeJoinGroup, OpenIMBeforeMembersJoinGroup},
	"member.approve":  {OpenIMBeforeMembersJoinGroup},
	"member.set_info": {OpenIMBeforeSetGroupMemberInfo},
	"member.set_role": {OpenIMBeforeSetGroupMemberInfo},
	"member.remove":   {OpenIMBeforeKickGroupMember},
}

// Commands lists the Roster commands a hook can guard, in a stable order.
var Commands = []string{
	"group.create", "group.update", "group.transfer", "member.invite", "member.join",
	"member.approve", "member.set_info", "member.set_role", "member.remove",
}

// OpenIMCallbacks returns the OpenIM callbacks a hook on command may send
// (the first is the default), or nil when command cannot be guarded.
func OpenIMCallbacks(command string) []string { return openIMCallbacks[command] }

// Hook is one synchronous policy hook.
type Hook struct {
	ID      string `json:"id"`
	Command string `json:"command"`
	// Callback is the OpenIM callbackCommand an openim hook sends (one of
	// OpenIMCallbacks(Command); empty: the default). Unused by standard.
	Callback  string        `json:"callback,omitempty"`
	URL       string        `json:"url"`
	Format    Format        `json:"format"`
	Timeout   time.Duration `json:"timeout"`
	OnFailure OnFailure     `json:"on_failure"`
	// Secrets sign the calls (Standard Webhooks, newest first); a stored
	// hook holds them sealed, see the store.
	Secrets   []string  `json:"secrets,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OpenIMCommand is the callbackCommand h sends when its format is openim.
func (h Hook) OpenIMCommand() string {
	if h.Callback != "" {
		return h.Callback
	}
	if cs := openIMCallbacks[h.Command]; len(cs) > 0 {
		return cs[0]
	}
	return ""
}

// Validate reports every problem with h (the URL's safety is the SSRF
// guard's, at call time and at registration).
func (h Hook) Validate() error {
	var errs []error
	if h.ID == "" {
		errs = append(errs, errors.New("id is required"))
	}
	cbs, ok := openIMCallbacks[h.Command]
	if !ok {
		errs = append(errs, fmt.Errorf("command: %q cannot be guarded, want one of %v", h.Command, Commands))
	}
	if h.Format != FormatOpenIM && h.Format != FormatStandard {
		errs = append(errs, fmt.Errorf("format: %q, want %q or %q", h.Format, FormatOpenIM, FormatStandard))
	}
	if h.Callback != "" {
		if h.Format != FormatOpenIM {
			errs = append(errs, errors.New("callback: only an openim hook names an OpenIM callback"))
		} else if ok && !contains(cbs, h.Callback) {
			errs = append(errs, fmt.Errorf("callback: %q is not sent for %s, want one of %v", h.Callback, h.Command, cbs))
		}
	}
	if h.URL == "" {
		errs = append(errs, errors.New("url is required"))
	}
	if h.Timeout < MinTimeout || h.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout: %s, want %s to %s", h.Timeout, MinTimeout, MaxTimeout))
	}
	if h.OnFailure != Allow && h.OnFailure != Deny {
		errs = append(errs, fmt.Errorf("on_failure: %q, want %q or %q", h.OnFailure, Allow, Deny))
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
