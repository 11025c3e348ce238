package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// updateRequest is the body of roster.cmd.group.update (schemas/json/commands/group.update.json).
type updateRequest struct {
	envelope
	Name       *string `json:"name,omitempty"`
	Intro      *string `json:"intro,omitempty"`
	JoinPolicy *string `json:"join_policy,omitempty"`
}

// parseGroupUpdate decodes roster.cmd.group.update (change a group's name,
// intro or join policy). Whether the actor may do it is the domain's rule
// (group.Decide).
func parseGroupUpdate(b []byte) (parsed, error) {
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
}
