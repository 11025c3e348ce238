package ports

import (
	"github.com/rosterhq/roster/events"
	"github.com/rosterhq/roster/events/group"
	"github.com/rosterhq/roster/events/wire"
)

// createRequest is the body of roster.cmd.group.create (schemas/json/commands/group.create.json).
type createRequest struct {
	envelope
	Name       string   `json:"name"`
	Intro      string   `json:"intro,omitempty"`
	JoinPolicy *string  `json:"join_policy,omitempty"`
	Members    []string `json:"members,omitempty"`
}

// parseGroupCreate decodes roster.cmd.group.create (create a group, its actor
// becoming the owner, with optional first members). Whether the actor may do
// it is the domain's rule (group.Decide).
func parseGroupCreate(b []byte) (parsed, error) {
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
}
