package groups

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
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
		JoinPolicy string   `json:"join_policy,omitempty"`
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
			return group.Create{Name: r.Name, Intro: r.Intro, JoinPolicy: events.JoinPolicy(r.JoinPolicy), Members: r.Members}, nil
		})
	},
	"group.update": func(b []byte) (parsed, error) {
		var r updateRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.Name == nil && r.Intro == nil && r.JoinPolicy == nil {
				return nil, events.Errorf(events.CodeInvalidArgument, "give at least one of name, intro, join_policy")
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
			return group.Invite{UserIDs: r.UserIDs}, nil
		})
	},
	"member.remove": func(b []byte) (parsed, error) {
		var r usersRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.UserIDs == nil {
				return nil, missing("user_ids")
			}
			return group.Remove{UserIDs: r.UserIDs}, nil
		})
	},
	"member.join": func(b []byte) (parsed, error) {
		var r joinRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) { return group.Join{Message: r.Message}, nil })
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
			return group.Reject{UserID: r.UserID, Reason: r.Reason}, events.ValidateID("user_id", r.UserID)
		})
	},
	"member.set_role": func(b []byte) (parsed, error) {
		var r setRoleRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) {
			if r.Role == "" {
				return nil, missing("role")
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

func missing(field string) error {
	return events.Errorf(events.CodeInvalidArgument, "%s: required", field)
}

func plain(c group.Command) parser {
	return func(b []byte) (parsed, error) {
		var r plainRequest
		return with(b, &r, &r.envelope, func() (group.Command, error) { return c, nil })
	}
}

// with decodes b strictly into req, validates the envelope, then builds the
// command. Every failure is an invalid_argument naming the field.
func with(b []byte, req any, env *envelope, build func() (group.Command, error)) (parsed, error) {
	if err := DecodeStrict(b, req); err != nil {
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

// DecodeStrict decodes exactly one JSON object from b into v, rejecting
// unknown fields, wrong types and trailing data, with messages that name
// the field. Errors are *events.Error with code invalid_argument.
func DecodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return events.Errorf(events.CodeInvalidArgument, "empty request: want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return events.Errorf(events.CodeInvalidArgument, "%s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return events.Errorf(events.CodeInvalidArgument, "malformed JSON: data after the request object")
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fmt.Sprintf("request: want a JSON object, got %s", typeErr.Value)
		}
		return fmt.Sprintf("%s: wrong type: got %s, want %s", field, typeErr.Value, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
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
