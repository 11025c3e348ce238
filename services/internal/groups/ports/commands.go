package ports

import (
	"slices"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// envelope holds the fields every command request carries.
type envelope struct {
	GroupID   string `json:"group_id"`
	Actor     string `json:"actor"`
	CommandID string `json:"command_id,omitempty"`
}

func (e envelope) validate() error {
	if err := events.ValidateID("group_id", e.GroupID); err != nil {
		return err
	}
	if err := events.ValidateID("actor", e.Actor); err != nil {
		return err
	}
	if e.CommandID != "" {
		if err := events.ValidateID("command_id", e.CommandID); err != nil {
			return err
		}
	}
	return nil
}

// Request bodies several commands share. Field names are the wire
// contract documented in docs/commands.md and schemas/json/commands.
type (
	plainRequest struct{ envelope }
	userRequest  struct {
		envelope
		UserID string `json:"user_id"`
	}
	// reasonUsersRequest is member.invite's and member.remove's body: the
	// users and an optional reason (OpenIM's invite and kick reason).
	reasonUsersRequest struct {
		envelope
		UserIDs []string `json:"user_ids"`
		Reason  string   `json:"reason,omitempty"`
	}
)

// parsed is a decoded, validated request.
type parsed struct {
	envelope
	cmd group.Command
}

// parser decodes one command's request body.
type parser func(data []byte) (parsed, error)

// parsers maps each command's name (the subject's last two tokens) to its
// parser, one file per command (member_invite.go: roster.cmd.member.invite).
// Together with events the map is the command vocabulary.
var parsers = map[string]parser{
	"group.create":    parseGroupCreate,
	"group.update":    parseGroupUpdate,
	"group.dismiss":   parseGroupDismiss,
	"group.transfer":  parseGroupTransfer,
	"group.mute":      parseGroupMute,
	"group.unmute":    parseGroupUnmute,
	"member.invite":   parseMemberInvite,
	"member.remove":   parseMemberRemove,
	"member.join":     parseMemberJoin,
	"member.approve":  parseMemberApprove,
	"member.reject":   parseMemberReject,
	"member.quit":     parseMemberQuit,
	"member.set_role": parseMemberSetRole,
	"member.set_info": parseMemberSetInfo,
	"member.mute":     parseMemberMute,
	"member.unmute":   parseMemberUnmute,
}

// CommandNames lists every command name ("group.create", ...), sorted.
func CommandNames() []string {
	names := make([]string, 0, len(parsers))
	for n := range parsers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// firstErr returns the first failure: a reply names one field.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ids checks an id list as the schemas state it: at least min and at
// most group.MaxBatchUsers ids, each valid, none twice.
func ids(field string, list []string, min int) error {
	switch {
	case len(list) < min:
		return events.Errorf(events.CodeInvalidArgument, "%s: must not be empty", field)
	case len(list) > group.MaxBatchUsers:
		return events.Errorf(events.CodeInvalidArgument, "%s: more than %d", field, group.MaxBatchUsers)
	}
	return events.ValidateIDs(field, list)
}

// joinPolicy checks a join_policy when given (absent: the default or no
// change).
func joinPolicy(p *string) error {
	if p != nil && !events.JoinPolicy(*p).Valid() {
		return events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of open, approval, all_approval, invite_only", *p)
	}
	return nil
}

// flag checks one of OpenIM's 0/1 group switches when given.
func flag(field string, v *int32) error {
	if v != nil && *v != 0 && *v != 1 {
		return events.Errorf(events.CodeInvalidArgument, "%s: %d is not 0 or 1", field, *v)
	}
	return nil
}

// optText checks an optional text field when given: a one-line name or
// free text of at most max characters.
func optText(field string, v *string, max int, oneLine bool) error {
	switch {
	case v == nil:
		return nil
	case oneLine:
		return wire.Name(field, *v, max)
	}
	return wire.Text(field, *v, max)
}

func missing(field string) error {
	return events.Errorf(events.CodeInvalidArgument, "%s: required", field)
}

func plain(c group.Command) parser {
	return func(b []byte) (parsed, error) {
		var r plainRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) { return c, nil })
	}
}

// with decodes b strictly into req (events/wire: the one decoder every
// subject shares), validates the envelope, then builds the command. Every
// failure is an invalid_argument naming the field.
func with(b []byte, req any, env *envelope, build func() (group.Command, error)) (parsed, error) {
	if err := wire.Decode(b, req); err != nil {
		return parsed{}, err
	}
	if err := env.validate(); err != nil {
		return parsed{}, err
	}
	cmd, err := build()
	if err != nil {
		return parsed{}, err
	}
	return parsed{envelope: *env, cmd: cmd}, nil
}
