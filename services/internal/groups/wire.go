package groups

import (
	"time"

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

// The request bodies, one per command. Field names are the wire contract
// documented in docs/commands.md and schemas/json/commands.
type (
	createRequest struct {
		envelope
		Name       string   `json:"name"`
		Intro      string   `json:"intro,omitempty"`
		JoinPolicy *string  `json:"join_policy,omitempty"`
		Members    []string `json:"members,omitempty"`
	}
	updateRequest struct {
		envelope
		Name       *string `json:"name,omitempty"`
		Intro      *string `json:"intro,omitempty"`
		JoinPolicy *string `json:"join_policy,omitempty"`
	}
	plainRequest    struct{ envelope }
	transferRequest struct {
		envelope
		NewOwner string `json:"new_owner"`
	}
	usersRequest struct {
		envelope
		UserIDs []string `json:"user_ids"`
	}
	joinRequest struct {
		envelope
		Message string `json:"message,omitempty"`
	}
	userRequest struct {
		envelope
		UserID string `json:"user_id"`
	}
	rejectRequest struct {
		envelope
		UserID string `json:"user_id"`
		Reason string `json:"reason,omitempty"`
	}
	setRoleRequest struct {
		envelope
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	muteRequest struct {
		envelope
		UserID          string `json:"user_id"`
		DurationSeconds int64  `json:"duration_seconds"`
	}
)

// parsed is a decoded, validated request.
type parsed struct {
	envelope
	cmd group.Command
	// generated: the caller gave no command_id; the service made one up.
	generated bool
}

// parser decodes one command's request body.
type parser func(data []byte) (parsed, error)

// parsers maps each command's name (the subject's last two tokens) to its
// parser. Together with events the map is the command vocabulary.
var parsers = map[string]parser{
	"group.create": func(b []byte) (parsed, error) {
		var r createRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.Name == "" {
				return nil, missing("name")
			}
			if err := firstErr(wire.Name("name", r.Name, group.MaxNameLen), wire.Text("intro", r.Intro, group.MaxIntroLen),
				joinPolicy(r.JoinPolicy), ids("members", r.Members, 0)); err != nil {
				return nil, err
			}
			c := group.Create{Name: r.Name, Intro: r.Intro, Members: r.Members}
			if r.JoinPolicy != nil {
				c.JoinPolicy = events.JoinPolicy(*r.JoinPolicy)
			}
			return c, nil
		})
	},
	"group.update": func(b []byte) (parsed, error) {
		var r updateRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.Name == nil && r.Intro == nil && r.JoinPolicy == nil {
				return nil, events.Errorf(events.CodeInvalidArgument, "give at least one of name, intro, join_policy")
			}
			if r.Name != nil {
				if *r.Name == "" {
					return nil, events.Errorf(events.CodeInvalidArgument, "name: must not be empty")
				}
				if err := wire.Name("name", *r.Name, group.MaxNameLen); err != nil {
					return nil, err
				}
			}
			if r.Intro != nil {
				if err := wire.Text("intro", *r.Intro, group.MaxIntroLen); err != nil {
					return nil, err
				}
			}
			if err := joinPolicy(r.JoinPolicy); err != nil {
				return nil, err
			}
			c := group.Update{Name: r.Name, Intro: r.Intro}
			if r.JoinPolicy != nil {
				p := events.JoinPolicy(*r.JoinPolicy)
				c.JoinPolicy = &p
			}
			return c, nil
		})
	},
	"group.dismiss": plain(group.Dismiss{}),
	"group.mute":    plain(group.MuteGroup{}),
	"group.unmute":  plain(group.UnmuteGroup{}),
	"member.quit":   plain(group.Quit{}),
	"group.transfer": func(b []byte) (parsed, error) {
		var r transferRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if err := events.ValidateID("new_owner", r.NewOwner); err != nil {
				return nil, err
			}
			return group.Transfer{NewOwner: r.NewOwner}, nil
		})
	},
	"member.invite": func(b []byte) (parsed, error) {
		var r usersRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.UserIDs == nil {
				return nil, missing("user_ids")
			}
			return group.Invite{UserIDs: r.UserIDs}, ids("user_ids", r.UserIDs, 1)
		})
	},
	"member.remove": func(b []byte) (parsed, error) {
		var r usersRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.UserIDs == nil {
				return nil, missing("user_ids")
			}
			return group.Remove{UserIDs: r.UserIDs}, ids("user_ids", r.UserIDs, 1)
		})
	},
	"member.join": func(b []byte) (parsed, error) {
		var r joinRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			return group.Join{Message: r.Message}, wire.Text("message", r.Message, group.MaxMessageLen)
		})
	},
	"member.approve": func(b []byte) (parsed, error) {
		var r userRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			return group.Approve{UserID: r.UserID}, events.ValidateID("user_id", r.UserID)
		})
	},
	"member.reject": func(b []byte) (parsed, error) {
		var r rejectRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			return group.Reject{UserID: r.UserID, Reason: r.Reason}, firstErr(events.ValidateID("user_id", r.UserID), wire.Text("reason", r.Reason, group.MaxMessageLen))
		})
	},
	"member.set_role": func(b []byte) (parsed, error) {
		var r setRoleRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.Role == "" {
				return nil, missing("role")
			}
			if r.Role != string(events.RoleAdmin) && r.Role != string(events.RoleMember) {
				return nil, events.Errorf(events.CodeInvalidArgument, "role: %q is not one of admin, member", r.Role)
			}
			return group.SetRole{UserID: r.UserID, Role: events.Role(r.Role)}, events.ValidateID("user_id", r.UserID)
		})
	},
	"member.mute": func(b []byte) (parsed, error) {
		var r muteRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if err := events.ValidateID("user_id", r.UserID); err != nil {
				return nil, err
			}
			if r.DurationSeconds <= 0 || r.DurationSeconds > int64(group.MaxMuteDuration/time.Second) {
				return nil, events.Errorf(events.CodeInvalidArgument, "duration_seconds: must be between 1 and %d", int64(group.MaxMuteDuration/time.Second))
			}
			return group.MuteMember{UserID: r.UserID, Duration: time.Duration(r.DurationSeconds) * time.Second}, nil
		})
	},
	"member.unmute": func(b []byte) (parsed, error) {
		var r userRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			return group.UnmuteMember{UserID: r.UserID}, events.ValidateID("user_id", r.UserID)
		})
	},
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
		return events.Errorf(events.CodeInvalidArgument, "join_policy: %q is not one of open, approval, invite_only", *p)
	}
	return nil
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

// Reply is a success reply: the group's new version and the events appended.
type Reply struct {
	GroupID   string         `json:"group_id"`
	Version   uint64         `json:"version"`
	CommandID string         `json:"command_id"`
	Events    []events.Event `json:"events"`
}

// ErrorReply is a failure reply.
type ErrorReply struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the typed error of a failure reply.
type ErrorBody struct {
	Code    events.Code `json:"code"`
	Message string      `json:"message"`
}
