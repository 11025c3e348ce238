package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
)

// The pieces every administration verb shares (roster webhook ..., roster
// policy ...): who makes the change, and one request whose reply is
// printed as it came.

// actorFlag adds --actor to an administration command, defaulting to
// $ROSTER_ACTOR, and returns where the value lands.
func actorFlag(c *cobra.Command) *string {
	a := new(string)
	c.Flags().StringVar(a, "actor", os.Getenv("ROSTER_ACTOR"), "who makes the change, for the audit trail ($ROSTER_ACTOR)")
	return a
}

// errNoActor: a change must name who makes it (the audit trail's actor).
var errNoActor = errors.New("--actor is required (or set $ROSTER_ACTOR)")

// needActor refuses a change without an actor.
func needActor(a *string) error {
	if *a == "" {
		return errNoActor
	}
	return nil
}

// call sends body to subject and prints the reply.
func (g *globals) call(c *cobra.Command, subject string, body any) error {
	raw, err := g.request(c.Context(), subject, body)
	if err != nil {
		return err
	}
	return g.printJSON(raw)
}
